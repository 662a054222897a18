// End to end as root: the reference datapath (src/datapath/bpf/reference.c) enforces the maps the
// agent writes, on real packets between pods, with real workerd and a real agent. Pods are network
// namespaces brought up through the CNI chain bridge + host-local + idplane-cni with
// `"datapath": "reference"`, invoked as libcni does: the agent attaches the programs before ADD
// returns. A policy allows app=client → app=server on TCP/80 only; every verdict seen on the wire
// is compared with the control plane's trace.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from './agent-process.js';
import { CniRuntime, podArgs, referencePluginDir, type Attachment, type Conflist } from './cni-chain.js';
import { ping, probe, startProber, startServer, type Outcome, type PodServer, type Protocol } from './netns-pods.js';
import { requireRootOrSkip } from './root.js';
import { clusterApi, eventually, putCluster, unixSocketRequest } from './support.js';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.js';

const pluginDir = referencePluginDir();
function canRunSuite(): boolean {
  if (!requireRootOrSkip('the reference datapath on real packets')) return false;
  if (pluginDir) return true;
  const reason = 'the reference CNI plugins are not installed (apt-get install containernetworking-plugins)';
  if (process.env.CI === 'true') throw new Error(`reference datapath e2e: cannot run under CI: ${reason}`);
  console.warn(`SKIPPED reference datapath e2e: ${reason}`);
  return false;
}
const canRun = canRunSuite();

const CLUSTER = 'e2e-refdp';
const NODE = 'node-rd';
const work = mkdtempSync(join(tmpdir(), 'idplane-refdp-'));
const tag = work.slice(-4).toLowerCase().replace(/[^a-z0-9]/g, 'x');
const bpffs = join(work, 'bpffs');
const globals = join(bpffs, 'tc/globals');
const socket = join(work, 'agent.sock');
const OBJECT = resolve(import.meta.dirname, '../../build/bpf/reference.o');
const PLUGIN = resolve(import.meta.dirname, '../../dist/idplane-cni.cjs');
/** A dropped SYN or datagram shows as no answer within this; an allowed one answers in milliseconds. */
const DROP_MS = 1000;
let dev: WranglerDev;
let agent: AgentProcess | undefined;
let server: PodServer | undefined;
const runtime = new CniRuntime([join(work, 'bin'), pluginDir ?? '/usr/lib/cni']);

interface Pod {
  name: string;
  netns: string;
  ip: string;
  id: number;
  hostIfname: string;
  at: Attachment;
  list: Conflist;
  result: unknown;
  /** How long each plugin of the chain took (bridge, idplane-cni). */
  ms: number[];
}
const pods: Record<string, Pod> = {};
const netnsNames: string[] = [];

const api = clusterApi(() => dev, CLUSTER);
const local = (method: string, path: string, body?: unknown) => unixSocketRequest(socket, method, path, body);
const tcFilters = (ifname: string, hook: 'ingress' | 'egress') => execFileSync('tc', ['filter', 'show', 'dev', ifname, hook]).toString();

const allowClientToServer = {
  apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'server-ingress' },
  spec: {
    endpointSelector: { matchLabels: { app: 'server' } },
    ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }],
  },
};

/** The conflist of one pod: its address pinned by host-local's range, its labels in args.cni.labels. */
function conflist(ip: string, app: string): Conflist {
  return {
    cniVersion: '1.0.0',
    name: 'idplane',
    plugins: [
      { type: 'bridge', bridge: `rd${tag}`, isGateway: true, ipMasq: false,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.0.0/24', rangeStart: ip, rangeEnd: ip }]], dataDir: join(work, 'ipam') } },
      { type: 'idplane-cni', 'agent-socket': socket, datapath: 'reference', args: { cni: { labels: [{ key: 'app', value: app }] } } },
    ],
  };
}

/** A network namespace, attached through the chain as a runtime does for a pod sandbox. */
async function addPod(name: string, ip: string, app: string): Promise<Pod> {
  const ns = `rd-${tag}-${name}`;
  execFileSync('ip', ['netns', 'add', ns]);
  netnsNames.push(ns);
  const containerId = `${tag}${name}`;
  const at = { containerId, netns: `/var/run/netns/${ns}`, ifname: 'eth0', args: podArgs('default', name, containerId) };
  const list = conflist(ip, app);
  const { result, runs } = await runtime.add(at, list);
  const ep = (await local('GET', `/v1/endpoint/cni-attachment-id:${containerId}:eth0`)).body;
  return (pods[name] = { name, netns: at.netns, ip, id: ep.id, hostIfname: ep['interface-name'], at, list, result, ms: runs.map((r) => r.ms) });
}

const connect = (from: Pod | undefined, proto: Protocol, port: number): Promise<Outcome | string> =>
  probe(from?.netns, proto, pods.server!.ip, port, DROP_MS);

describe.skipIf(!canRun)('the reference datapath (root, real packets)', () => {
  beforeAll(async () => {
    execFileSync('npm', ['run', '--silent', 'build:bpf'], { cwd: resolve(import.meta.dirname, '../..'), stdio: 'ignore' });
    mkdirSync(join(work, 'bin'));
    symlinkSync(PLUGIN, join(work, 'bin', 'idplane-cni'));
    dev = await startWranglerDev();
    await putCluster(dev, CLUSTER);
    writeFileSync(join(work, 'token'), dev.token);
    mkdirSync(bpffs, { recursive: true });
    execFileSync('mount', ['-t', 'bpf', 'bpf', bpffs]);
    agent = spawnAgent(['run', '--url', dev.url, '--cluster', CLUSTER, '--node', NODE, '--token-file', join(work, 'token'), '--bpffs', bpffs,
      '--state-dir', join(work, 'state'), '--socket', socket, '--metrics-address', '127.0.0.1:0', '--ipv4', '192.168.88.1', '--datapath-object', OBJECT, '--datapath-guard-bridge', `rd${tag}`]);
    await eventually(async () => expect((await local('GET', '/v1/healthz')).body.status).toBe('ok'), 30000);
    await api('PUT', '/policies/default/server-ingress', allowClientToServer);
    await addPod('server', '10.88.0.10', 'server');
    await addPod('client', '10.88.0.11', 'client');
    await addPod('other', '10.88.0.12', 'other');
    server = await startServer(pods.server!.netns, [80, 81]);
  }, 120000);

  afterAll(async () => {
    server?.child.kill();
    for (const pod of Object.values(pods)) await runtime.del(pod.at, pod.list, pod.result).catch(() => undefined);
    for (const ns of netnsNames) execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
    execFileSync('ip', ['link', 'delete', `rd${tag}`], { stdio: 'ignore' });
    await agent?.stop();
    await dev?.stop();
    execFileSync('umount', [bpffs]);
  });

  it("attaches both programs to the host veth before ADD returns", () => {
    expect(tcFilters(pods.server!.hostIfname, 'egress')).toMatch(/ name to_container /);
    expect(tcFilters(pods.server!.hostIfname, 'ingress')).toMatch(/ name from_container /);
  });

  // (peer, protocol, port) → what the kernel does, and the control plane's trace must agree.
  it.each([
    ['client', 'tcp', 80, 'ok'],
    ['client', 'tcp', 81, 'timeout'],
    ['client', 'udp', 80, 'timeout'],
    ['other', 'tcp', 80, 'timeout'],
    ['other', 'udp', 81, 'timeout'],
    ['host', 'tcp', 80, 'timeout'],
  ] as const)('%s → server %s/%i: %s on the wire, as the trace says', async (peer, proto, port, expected) => {
    const from = peer === 'host' ? undefined : pods[peer];
    expect(await connect(from, proto, port)).toBe(expected);
    // The host reaches the pod from the bridge address, which has no ipcache entry: world (2).
    const source = from ? { endpoint: { node: NODE, ref: String(from.id) } } : { identity: 2 };
    const trace = await api('POST', '/policy/trace', { from: source, to: { endpoint: { node: NODE, ref: String(pods.server!.id) } }, protocol: proto.toUpperCase(), port });
    expect(trace.verdict).toBe(expected === 'ok' ? 'allow' : 'deny');
  });

  it('ICMP: an echo request without an allow is dropped, as the trace says (protocol 1, port 0)', async () => {
    expect(await ping(pods.client!.netns, pods.server!.ip)).toBe('timeout');
    const trace = await api('POST', '/policy/trace', { from: { endpoint: { node: NODE, ref: String(pods.client!.id) } }, to: { endpoint: { node: NODE, ref: String(pods.server!.id) } }, protocol: 1, port: 0 });
    expect(trace.verdict).toBe('deny');
  });

  it("replies by the stated rule: TCP without SYN and ICMP echo replies reach the server, whose ingress allows only TCP/80; a UDP answer does not", async () => {
    // The client has no policy: anything may open to it, and the server has no egress policy.
    const listener = await startServer(pods.client!.netns, [81]);
    try {
      expect(await probe(pods.server!.netns, 'tcp', pods.client!.ip, 81, DROP_MS)).toBe('ok');
      expect(await ping(pods.server!.netns, pods.client!.ip)).toBe('ok');
      // The echoed datagram is a new packet to the server on its ephemeral port: no allow, dropped
      // (no connection tracking; Cilium's would pass it as a reply).
      expect(await probe(pods.server!.netns, 'udp', pods.client!.ip, 81, DROP_MS)).toBe('timeout');
    } finally {
      listener.child.kill();
    }
  });

  it('IPv6 is not policed but dropped: the pods cannot reach each other over their link-local addresses', async () => {
    const linkLocal = JSON.parse(execFileSync('nsenter', [`--net=${pods.server!.netns}`, 'ip', '-6', '-j', 'addr', 'show', 'dev', 'eth0']).toString())[0]
      .addr_info.find((a: { scope: string }) => a.scope === 'link').local as string;
    const r = await new Promise<string>((resolveRun) => {
      execFile('nsenter', [`--net=${pods.client!.netns}`, 'ping', '-6', '-n', '-c', '1', '-W', '1', `${linkLocal}%eth0`], (e) => resolveRun(e ? 'timeout' : 'ok'));
    });
    expect(r).toBe('timeout');
  });

  it("from birth: a peer without an allow probing a new server's address never reaches its listener; the client's first connection after ADD does", async () => {
    // Probing starts before the pod exists and goes on during its ADD and after.
    const prober = startProber(pods.other!.netns, '10.88.0.20', 80, 5, 200);
    prober.go();
    try {
      await eventually(() => expect(prober.attempts.length).toBeGreaterThan(10));
      const addStarted = Date.now();
      const born = await addPod('late', '10.88.0.20', 'server');
      const addReturned = Date.now();
      // The container starts once ADD has returned.
      const listener = await startServer(born.netns, [80]);
      try {
        expect(await probe(pods.client!.netns, 'tcp', born.ip, 80, DROP_MS)).toBe('ok');
        await new Promise((r) => setTimeout(r, 500));
        expect(listener.accepted).toEqual([pods.client!.ip]);
        const after = prober.attempts.filter((a) => a.at > addReturned);
        expect(after.length).toBeGreaterThan(10);
        expect(new Set(after.filter((a) => a.at < Date.now() - 300).map((a) => a.outcome))).toEqual(new Set(['timeout']));
        // The guard had the new port dropping before idplane-cni ran.
        const guarded = await agent!.waitForLog('new bridge port guarded (drop-all until its endpoint is created)', (l) => l.interface === born.hostIfname);
        // Reported, not asserted: how long the chain took, and how probes sent during ADD ended.
        const during: Record<string, number> = {};
        for (const a of prober.attempts.filter((x) => x.at >= addStarted && x.at <= addReturned)) during[a.outcome] = (during[a.outcome] ?? 0) + 1;
        console.info(`reference datapath: bridge ${Math.round(born.ms[0]!)} ms, idplane-cni (create + attach) ${Math.round(born.ms[1]!)} ms; ` +
          `port guarded ${guarded.ms} ms after it joined the bridge; probes during ADD: ${JSON.stringify(during)}`);
      } finally {
        listener.child.kill();
      }
    } finally {
      prober.child.kill();
    }
  });

  it("a deny for the client beats its allow; removing the deny lets it through again", async () => {
    await api('PUT', '/policies/default/deny-client', {
      apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'deny-client' },
      spec: { endpointSelector: { matchLabels: { app: 'server' } }, ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }] },
    });
    expect(await connect(pods.client, 'tcp', 80)).toBe('timeout');
    await api('DELETE', '/policies/default/deny-client');
    expect(await connect(pods.client, 'tcp', 80)).toBe('ok');
  });

  it("a policy update that takes the client's allow away drops its next connection", async () => {
    const otherOnly = structuredClone(allowClientToServer);
    otherOnly.spec.ingress[0]!.fromEndpoints[0]!.matchLabels.app = 'other';
    await api('PUT', '/policies/default/server-ingress', otherOnly);
    expect(await connect(pods.client, 'tcp', 80)).toBe('timeout');
    expect(await connect(pods.other, 'tcp', 80)).toBe('ok');
    await api('PUT', '/policies/default/server-ingress', allowClientToServer);
    expect(await connect(pods.other, 'tcp', 80)).toBe('timeout');
  });

  it('relabelling a pod into an allowed identity lets its next connection through', async () => {
    const r = await local('PATCH', `/v1/endpoint/cni-attachment-id:${pods.other!.at.containerId}:eth0/labels`, { add: ['k8s:app=client'], delete: ['k8s:app=other'] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(await connect(pods.other, 'tcp', 80)).toBe('ok');
  });

  it("exports the program's counters per endpoint, direction and verdict", async () => {
    const line = agent!.logs.find((l) => l.msg === 'serving metrics')!;
    const text = await (await fetch(line.metrics as string)).text();
    const value = (verdict: string) => Number(new RegExp(`idplane_agent_datapath_packets_total\\{endpoint="${pods.server!.id}",direction="ingress",verdict="${verdict}"\\} (\\d+)`).exec(text)?.[1]);
    expect(value('allow')).toBeGreaterThan(0);
    expect(value('drop')).toBeGreaterThan(0);
  });

  it('fails the create when the programs cannot be attached (no such interface)', async () => {
    const r = await local('PUT', '/v1/endpoint/cni-attachment-id:ghost:eth0?datapath=reference', {
      labels: ['k8s:app=ghost'], 'k8s-namespace': 'default', 'container-id': 'ghost', 'interface-name': 'rd-ghost', addressing: { ipv4: '10.88.0.99' }, 'sync-build-endpoint': true,
    });
    expect([r.status, r.body.error.code]).toEqual([500, 'datapath-attach-failed']);
    const noIf = await local('PUT', '/v1/endpoint/cni-attachment-id:noif:eth0?datapath=reference', { labels: ['k8s:app=x'], addressing: { ipv4: '10.88.0.98' } });
    expect([noIf.status, noIf.body.error.code]).toEqual([400, 'invalid-request']);
    await local('DELETE', '/v1/endpoint/cni-attachment-id:ghost:eth0');
  });

  it("idplane-cni's DEL takes the programs off the pod's veth and its maps away", async () => {
    const pod = pods.client!;
    const policyPin = join(globals, `cilium_policy_v2_${String(pod.id).padStart(5, '0')}`);
    const countersPin = join(globals, `idplane_datapath_counters_${String(pod.id).padStart(5, '0')}`);
    expect([existsSync(policyPin), existsSync(countersPin)]).toEqual([true, true]);
    // idplane-cni's DEL alone first (the chain's DEL then has the bridge plugin remove the veth).
    const run = await runtime.exec('DEL', pod.at, pod.list, pod.list.plugins[1]!, pod.result);
    expect(run.code, run.stdout).toBe(0);
    expect(tcFilters(pod.hostIfname, 'egress')).not.toMatch(/to_container/);
    expect(tcFilters(pod.hostIfname, 'ingress')).not.toMatch(/from_container/);
    expect([existsSync(policyPin), existsSync(countersPin)]).toEqual([false, false]);
    await runtime.del(pod.at, pod.list, pod.result);
    delete pods.client;
  });
});
