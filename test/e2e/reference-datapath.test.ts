// End to end as root: the reference datapath (src/datapath/bpf/reference.c) enforces the maps the
// agent writes, on real packets between pods (network namespaces on a bridge), with real workerd
// and a real agent. Each pod is created through the agent's local API with `?datapath=reference`,
// which attaches the programs before the create answers. A policy allows app=client → app=server
// on TCP/80 only; every verdict seen on the wire is compared with the control plane's trace.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from './agent-process.js';
import { PodNetwork, probe, startServer, type NetnsPod, type Outcome, type Protocol } from './netns-pods.js';
import { requireRootOrSkip } from './root.js';
import { clusterApi, eventually, putCluster, unixSocketRequest } from './support.js';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.js';

const canRun = requireRootOrSkip('the reference datapath on real packets');
const CLUSTER = 'e2e-refdp';
const NODE = 'node-rd';
const work = mkdtempSync(join(tmpdir(), 'idplane-refdp-'));
const bpffs = join(work, 'bpffs');
const globals = join(bpffs, 'tc/globals');
const socket = join(work, 'agent.sock');
const OBJECT = resolve(import.meta.dirname, '../../build/bpf/reference.o');
/** A dropped SYN or datagram shows as no answer within this; an allowed one answers in milliseconds. */
const DROP_MS = 1000;
let dev: WranglerDev;
let agent: AgentProcess | undefined;
let net: PodNetwork | undefined;
let server: ChildProcess | undefined;
const pods: Record<string, NetnsPod & { id: number }> = {};

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

/** A pod through the local API with the datapath, as idplane-cni creates one after the bridge plugin. */
async function createPod(name: string, ip: string, app: string): Promise<NetnsPod & { id: number }> {
  const pod = net!.add(name, ip, `rd-${name}`);
  const r = await local('PUT', `/v1/endpoint/cni-attachment-id:${name}:eth0?datapath=reference`, {
    labels: [`k8s:app=${app}`], 'k8s-namespace': 'default', 'k8s-pod-name': name, 'container-id': name, 'container-interface-name': 'eth0',
    'interface-name': pod.hostIfname, 'interface-index': pod.hostIfindex, addressing: { ipv4: ip }, 'sync-build-endpoint': true,
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return (pods[name] = { ...pod, id: r.body.id });
}

const connect = (from: NetnsPod | undefined, proto: Protocol, port: number): Promise<Outcome | string> =>
  probe(from?.netns, proto, pods.server!.ip, port, DROP_MS);

describe.skipIf(!canRun)('the reference datapath (root, real packets)', () => {
  beforeAll(async () => {
    execFileSync('npm', ['run', '--silent', 'build:bpf'], { cwd: resolve(import.meta.dirname, '../..'), stdio: 'ignore' });
    dev = await startWranglerDev();
    await putCluster(dev, CLUSTER);
    writeFileSync(join(work, 'token'), dev.token);
    mkdirSync(bpffs, { recursive: true });
    execFileSync('mount', ['-t', 'bpf', 'bpf', bpffs]);
    agent = spawnAgent(['run', '--url', dev.url, '--cluster', CLUSTER, '--node', NODE, '--token-file', join(work, 'token'), '--bpffs', bpffs,
      '--state-dir', join(work, 'state'), '--socket', socket, '--metrics-address', '127.0.0.1:0', '--ipv4', '192.168.88.1', '--datapath-object', OBJECT]);
    await eventually(async () => expect((await local('GET', '/v1/healthz')).body.status).toBe('ok'), 30000);
    await api('PUT', '/policies/default/server-ingress', allowClientToServer);
    net = new PodNetwork('rd-br0', '10.88.0.1');
    await createPod('server', '10.88.0.10', 'server');
    await createPod('client', '10.88.0.11', 'client');
    await createPod('other', '10.88.0.12', 'other');
    server = await startServer(pods.server!.netns, [80, 81]);
  }, 120000);

  afterAll(async () => {
    server?.kill();
    net?.destroy();
    await agent?.stop();
    await dev?.stop();
    execFileSync('umount', [bpffs]);
  });

  it('attaches both programs to the host veth before the create answers', () => {
    expect(tcFilters('rd-server', 'egress')).toMatch(/to_container/);
    expect(tcFilters('rd-server', 'ingress')).toMatch(/from_container/);
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
    const r = await local('PATCH', '/v1/endpoint/cni-attachment-id:other:eth0/labels', { add: ['k8s:app=client'], delete: ['k8s:app=other'] });
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

  it("deleting a pod's endpoint removes its programs and its maps", async () => {
    const { id } = pods.client!;
    const policyPin = join(globals, `cilium_policy_v2_${String(id).padStart(5, '0')}`);
    const countersPin = join(globals, `idplane_datapath_counters_${String(id).padStart(5, '0')}`);
    expect([existsSync(policyPin), existsSync(countersPin)]).toEqual([true, true]);
    const r = await local('DELETE', '/v1/endpoint/cni-attachment-id:client:eth0');
    expect(r.status).toBe(200);
    expect(tcFilters('rd-client', 'egress')).not.toMatch(/to_container/);
    expect(tcFilters('rd-client', 'ingress')).not.toMatch(/from_container/);
    expect([existsSync(policyPin), existsSync(countersPin)]).toEqual([false, false]);
  });
});
