// End to end as root: pods (network namespaces) attached through the conflist bridge + host-local +
// idplane-cni, invoked exactly as libcni invokes them, on two nodes: two idplane-agent processes,
// each with its own bpffs mount and local API socket, against a real `wrangler dev`. The moment
// each ADD returns, bpftool finds the pod's lxc and ipcache entries on its node (with
// wait-for-nodes, on the other node too) and its policy map equal to the endpoint's policy.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeIpcacheValue, encodeIpcacheKey } from '../../src/datapath/layout/ipcache.js';
import { decodeLxcValue, encodeLxcKey } from '../../src/datapath/layout/lxc.js';
import { AGENT_BIN } from './agent-process.js';
import { CniPluginError, CniRuntime, podArgs, referencePluginDir, type Attachment, type Conflist } from './cni-chain.js';
import { requireRootOrSkip } from './root.js';
import { clusterApi, eventually, lookupPinned, putCluster, unixSocketRequest } from './support.js';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.js';

const pluginDir = referencePluginDir();
function canRunSuite(): boolean {
  if (!requireRootOrSkip('CNI plugins on network namespaces with real BPF maps')) return false;
  if (pluginDir) return true;
  const reason = 'the reference CNI plugins are not installed (apt-get install containernetworking-plugins)';
  if (process.env.CI === 'true') throw new Error(`idplane-cni e2e: cannot run under CI: ${reason}`);
  console.warn(`SKIPPED idplane-cni e2e: ${reason}`);
  return false;
}
const canRun = canRunSuite();

const CLI = resolve(import.meta.dirname, '../../dist/idplane.js');
const PLUGIN = resolve(import.meta.dirname, '../../dist/idplane-cni.cjs');
const CLUSTER = 'e2e-cni';
const TIMEOUT_SECONDS = 10;
const work = mkdtempSync(join(tmpdir(), 'idplane-cni-e2e-'));
// Names of host interfaces and namespaces: unique per run, short (IFNAMSIZ).
const tag = work.slice(-4).toLowerCase().replace(/[^a-z0-9]/g, 'x');
let dev: WranglerDev;
const api = clusterApi(() => dev, CLUSTER);
const runtime = new CniRuntime([join(work, 'bin'), pluginDir ?? '/usr/lib/cni']);

interface NodeSetup {
  ip: string;
  bpffs: string;
  socket: string;
  list: Conflist;
  agent?: ChildProcess;
}

function conflist(node: string, bridge: string, subnet: string, socket: string): Conflist {
  return {
    cniVersion: '1.0.0',
    name: 'idplane',
    plugins: [
      { type: 'bridge', bridge, isGateway: true, ipMasq: false, ipam: { type: 'host-local', subnet, dataDir: join(work, node, 'ipam') } },
      { type: 'idplane-cni', 'agent-socket': socket, 'wait-for-nodes': true, 'timeout-seconds': TIMEOUT_SECONDS },
    ],
  };
}

const nodes: Record<string, NodeSetup> = {};
for (const [node, n] of [['node-a', 1], ['node-b', 2]] as const) {
  const socket = join(work, node, 'agent.sock');
  nodes[node] = { ip: `192.168.87.${n}`, bpffs: join(work, node, 'bpffs'), socket, list: conflist(node, `idp${tag}${n}`, `10.87.${n}.0/24`, socket) };
}
const otherNode = (node: string) => (node === 'node-a' ? 'node-b' : 'node-a');

/** The seed's five pods (issue 8), spread over the two nodes; the two coredns share one identity. */
const SEED = [
  { ns: 'default', pod: 'nettool-1', node: 'node-a', labels: { app: 'nettool-1' } },
  { ns: 'default', pod: 'nettool-2', node: 'node-b', labels: { app: 'nettool-2' } },
  { ns: 'kube-system', pod: 'coredns-5d78c9869d-62zlb', node: 'node-a', labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': '5d78c9869d' } },
  { ns: 'kube-system', pod: 'coredns-5d78c9869d-tmvt4', node: 'node-b', labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': '5d78c9869d' } },
  { ns: 'local-path-storage', pod: 'local-path-provisioner-6bc4bddd6b-x7gpb', node: 'node-a', labels: { app: 'local-path-provisioner' } },
];
type SeedPod = (typeof SEED)[number];

interface Pod {
  seed: SeedPod;
  at: Attachment;
  list: Conflist;
  result: any;
  ip: string;
}
const pods: Pod[] = [];
const netnsNames: string[] = [];
const mounts: string[] = [];

/** A pod sandbox: a network namespace, and its conflist entry with the pod's labels (args.cni.labels). */
function sandbox(seed: SeedPod, i: number): { at: Attachment; list: Conflist } {
  const name = `idp-${tag}-${i}`;
  execFileSync('ip', ['netns', 'add', name]);
  netnsNames.push(name);
  const containerId = `${tag}c0ffee${String(i).padStart(4, '0')}`;
  const base = nodes[seed.node]!.list;
  const labels = Object.entries(seed.labels).map(([key, value]) => ({ key, value }));
  const list = { ...base, plugins: [base.plugins[0]!, { ...base.plugins[1]!, args: { cni: { labels } } }] };
  return { at: { containerId, netns: `/var/run/netns/${name}`, ifname: 'eth0', args: podArgs(seed.ns, seed.pod, containerId) }, list };
}

const lookup = (node: string, map: string, key: Uint8Array) => lookupPinned(join(nodes[node]!.bpffs, 'tc/globals', map), key);
const lxcOf = (node: string, ip: string) => {
  const v = lookup(node, 'cilium_lxc', encodeLxcKey(ip));
  return v && decodeLxcValue(v);
};
const ipcacheOf = (node: string, ip: string) => {
  const v = lookup(node, 'cilium_ipcache_v2', encodeIpcacheKey(`${ip}/32`));
  return v && decodeIpcacheValue(v);
};
const policyMapPath = (node: string, endpointId: number) => join(nodes[node]!.bpffs, 'tc/globals', `cilium_policy_v2_${String(endpointId).padStart(5, '0')}`);
/** An endpoint's policy map as bpftool dumps it: key hex → value hex. */
function policyMapOf(node: string, endpointId: number): Record<string, string> {
  const entries = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', policyMapPath(node, endpointId)]).toString()) as { key: string[]; value: string[] }[];
  const text = (bytes: string[]) => bytes.map((b) => b.replace(/^0x/, '').padStart(2, '0')).join('');
  return Object.fromEntries(entries.map((e) => [text(e.key), text(e.value)]));
}
/** What the control plane says the endpoint's policy map holds. */
async function wantedPolicyMap(node: string, ref: string): Promise<Record<string, string>> {
  const policy = await api('GET', `/nodes/${node}/endpoints/${ref}/policy`);
  return Object.fromEntries((policy.entries as { key: string; value: string }[]).map((e) => [e.key, e.value]));
}
const ifindexOf = (ifname: string) => (JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'dev', ifname]).toString()) as { ifindex: number }[])[0]!.ifindex;
const endpointRef = (at: Attachment) => `cni-attachment-id:${at.containerId}:${at.ifname}`;
const pluginOf = (list: Conflist) => list.plugins[1]!;

async function startAgent(node: string): Promise<void> {
  const d = nodes[node]!;
  d.agent = spawn(process.execPath, [AGENT_BIN, 'run', '--url', dev.url, '--cluster', CLUSTER, '--node', node, '--token-file', join(work, 'token'),
    '--bpffs', d.bpffs, '--state-dir', join(work, node, 'state'), '--socket', d.socket, '--metrics-address', '127.0.0.1:0', '--ipv4', d.ip],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  await eventually(async () => expect((await unixSocketRequest(d.socket, 'GET', '/v1/healthz')).body.status).toBe('ok'), 30000);
}

describe.skipIf(!canRun)('idplane-cni in a bridge + host-local chain, two nodes (root, real BPF maps)', () => {
  beforeAll(async () => {
    mkdirSync(join(work, 'bin'));
    // As installed: the bundle alone, under the plugin's type name.
    symlinkSync(PLUGIN, join(work, 'bin', 'idplane-cni'));
    dev = await startWranglerDev();
    await putCluster(dev, CLUSTER);
    writeFileSync(join(work, 'token'), dev.token);
    for (const node of Object.keys(nodes)) {
      mkdirSync(nodes[node]!.bpffs, { recursive: true });
      execFileSync('mount', ['-t', 'bpf', 'bpf', nodes[node]!.bpffs]);
      mounts.push(nodes[node]!.bpffs);
    }
    await Promise.all(Object.keys(nodes).map(startAgent));
    // A policy in place before the pods come: nettool-1 takes TCP 80 from nettool-2 only.
    await api('PUT', '/policies/default/nettool-1', {
      apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'nettool-1' },
      spec: { endpointSelector: { matchLabels: { app: 'nettool-1' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'nettool-2' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] },
    });
  }, 180000);

  afterAll(async () => {
    for (const d of Object.values(nodes)) {
      if (d.agent && d.agent.exitCode === null) {
        const exited = new Promise((r) => d.agent!.once('exit', r));
        d.agent.kill('SIGTERM');
        await exited;
      }
    }
    await dev?.stop();
    // Whatever the tests got to: namespaces (a pod's veth goes with it), bridges, bpffs mounts.
    const quietly = (args: string[]) => {
      try {
        execFileSync(args[0]!, args.slice(1), { stdio: 'ignore' });
      } catch {
        // not there
      }
    };
    for (const name of netnsNames) quietly(['ip', 'netns', 'del', name]);
    for (const d of Object.values(nodes)) quietly(['ip', 'link', 'del', (d.list.plugins[0] as { bridge: string }).bridge]);
    for (const m of mounts) execFileSync('umount', [m]);
  });

  it("brings the seed's five pods up on two nodes: when ADD returns, the maps of both nodes hold them", async () => {
    for (const [i, seed] of SEED.entries()) {
      const { at, list } = sandbox(seed, i);
      const { result, runs } = await runtime.add(at, list);
      // Read at once, no retry: ADD's return promises the entries are in place.
      const ip = (result.ips[0].address as string).split('/')[0]!;
      const lxc = lxcOf(seed.node, ip);
      const here = ipcacheOf(seed.node, ip);
      const there = ipcacheOf(otherNode(seed.node), ip);
      const lxcId = lxc?.lxcId ?? 0;
      const policyMap = policyMapOf(seed.node, lxcId);
      // prevResult handed on unchanged: idplane-cni's result is the bridge's.
      expect(result).toEqual(JSON.parse(runs[0]!.stdout));
      const ep = (await unixSocketRequest(nodes[seed.node]!.socket, 'GET', `/v1/endpoint/${endpointRef(at)}`)).body;
      const hostVeth = result.interfaces.find((x: { name: string; sandbox?: string }) => !x.sandbox && x.name.startsWith('veth')).name as string;
      expect(ep).toMatchObject({
        'k8s-namespace': seed.ns, 'k8s-pod-name': seed.pod, 'container-id': at.containerId, 'container-interface-name': 'eth0',
        'interface-name': hostVeth, 'interface-index': ifindexOf(hostVeth), mac: result.interfaces.find((x: { sandbox?: string }) => x.sandbox).mac,
        state: 'ready', addressing: { ipv4: ip },
      });
      expect(lxc).toMatchObject({ lxcId: ep.id, secId: ep.identity.id, ifindex: ifindexOf(hostVeth) });
      expect(here?.identity).toBe(ep.identity.id);
      expect(there?.identity).toBe(ep.identity.id);
      expect(there?.tunnelEndpoint).toBe(nodes[seed.node]!.ip);
      expect(policyMap).toEqual(await wantedPolicyMap(seed.node, endpointRef(at)));
      pods.push({ seed, at, list, result, ip });
    }
    const ids = await Promise.all(pods.map(async (p) => (await api('GET', `/nodes/${p.seed.node}/endpoints/${endpointRef(p.at)}`)).identity.id as number));
    expect(ids[2]).toBe(ids[3]); // the two coredns: one identity
    expect(new Set(ids).size).toBe(4);
    const nettool1 = await api('GET', `/nodes/node-a/endpoints/${endpointRef(pods[0]!.at)}`);
    expect(nettool1['policy-enforcement']).toEqual({ ingress: true, egress: false });
    expect(nettool1.labels.identity).toEqual(['k8s:app=nettool-1', `k8s:io.cilium.k8s.policy.cluster=${CLUSTER}`, 'k8s:io.kubernetes.pod.namespace=default']);
  });

  it('carries a policy change into every affected policy map, on both nodes', async () => {
    const maps = () => Promise.all(pods.map(async (p) => {
      const id = (await api('GET', `/nodes/${p.seed.node}/endpoints/${endpointRef(p.at)}`)).id as number;
      return [policyMapOf(p.seed.node, id), await wantedPolicyMap(p.seed.node, endpointRef(p.at))];
    }));
    const before = await maps();
    // nettool-1 admits nettool-2 (created after it: its identity entered nettool-1's map then).
    const nettool2 = (await api('GET', `/nodes/node-b/endpoints/${endpointRef(pods[1]!.at)}`)).identity.id as number;
    expect(Object.keys(before[0]![0]!).some((key) => parseInt(key.slice(14, 16) + key.slice(12, 14) + key.slice(10, 12) + key.slice(8, 10), 16) === nettool2)).toBe(true);
    await api('PUT', '/clusterwide-policies/dns', {
      apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'dns' },
      spec: { endpointSelector: { matchLabels: { 'k8s-app': 'kube-dns' } }, ingress: [{ fromEntities: ['cluster'], toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }] }] }] },
    });
    await eventually(async () => {
      for (const [have, want] of await maps()) expect(have).toEqual(want);
    });
    const after = await maps();
    // Both coredns maps (one per node) changed; the others did not.
    expect(after.map(([have], i) => JSON.stringify(have) !== JSON.stringify(before[i]![0]))).toEqual([false, false, true, true, false]);
  });

  it("shows the seed's endpoints in `idplane get endpoints`", async () => {
    const out = await promisify(execFile)(process.execPath, [CLI, 'get', 'endpoints', '-A'], {
      env: { ...process.env, IDPLANE_URL: dev.url, IDPLANE_TOKEN: dev.token, IDPLANE_CLUSTER: CLUSTER },
    });
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines[0]!.split(/\s{3,}/)).toEqual(['NAMESPACE', 'NAME', 'ENDPOINT ID', 'IDENTITY ID', 'INGRESS ENFORCEMENT', 'EGRESS ENFORCEMENT', 'VISIBILITY POLICY', 'ENDPOINT STATE', 'IPV4', 'IPV6']);
    const rows = lines.slice(1).map((l) => l.split(/\s+/));
    const byName = (p: Pod) => rows.find((r) => r[1] === p.seed.pod)!;
    expect(rows.map((r) => `${r[0]}/${r[1]}`)).toEqual([
      'default/nettool-1', 'default/nettool-2', 'kube-system/coredns-5d78c9869d-62zlb', 'kube-system/coredns-5d78c9869d-tmvt4', 'local-path-storage/local-path-provisioner-6bc4bddd6b-x7gpb',
    ]);
    // Ingress enforced where a policy selects the pod: nettool-1 (its CNP) and the coredns pods (the CCNP).
    expect(pods.map((p) => byName(p)[4])).toEqual(['true', 'false', 'true', 'true', 'false']);
    for (const p of pods) expect(byName(p).slice(7)).toEqual(['ready', p.ip, '<none>']);
    expect(byName(pods[2]!)[3]).toBe(byName(pods[3]!)[3]);
  });

  it('answers a retried ADD with the same result and the same endpoint', async () => {
    const p = pods[1]!;
    const before = await api('GET', `/nodes/${p.seed.node}/endpoints/${endpointRef(p.at)}`);
    const bridgeResult = p.result;
    const again = await runtime.exec('ADD', p.at, p.list, pluginOf(p.list), bridgeResult);
    expect([again.code, JSON.parse(again.stdout)]).toEqual([0, p.result]);
    const after = await api('GET', `/nodes/${p.seed.node}/endpoints/${endpointRef(p.at)}`);
    expect(after.id).toBe(before.id);
    expect((await api('GET', `/nodes/${p.seed.node}/endpoints`)).endpoints).toHaveLength(2);
  });

  it('passes CHECK for every pod, and fails it once the endpoint is deleted behind its back', async () => {
    for (const p of pods) await runtime.check(p.at, p.list, p.result);
    // An lxc entry deleted behind the agent's back (bpftool): CHECK fails; put back, it passes.
    const q = pods[3]!;
    const lxc = join(nodes[q.seed.node]!.bpffs, 'tc/globals', 'cilium_lxc');
    const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0'));
    const value = lookupPinned(lxc, encodeLxcKey(q.ip))!;
    execFileSync('bpftool', ['map', 'delete', 'pinned', lxc, 'key', 'hex', ...hex(encodeLxcKey(q.ip))]);
    const broken = await runtime.check(q.at, q.list, q.result).catch((e: unknown) => e);
    expect([(broken as CniPluginError).plugin, (broken as CniPluginError).result.code]).toEqual(['idplane-cni', 101]);
    expect((broken as CniPluginError).result.msg).toMatch(/maps do not hold the endpoint/);
    execFileSync('bpftool', ['map', 'update', 'pinned', lxc, 'key', 'hex', ...hex(encodeLxcKey(q.ip)), 'value', 'hex', ...hex(value)]);
    await runtime.check(q.at, q.list, q.result);
    const p = pods[4]!;
    await api('DELETE', `/nodes/${p.seed.node}/endpoints/${endpointRef(p.at)}`);
    const err = await runtime.check(p.at, p.list, p.result).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniPluginError);
    expect([(err as CniPluginError).plugin, (err as CniPluginError).result.code]).toEqual(['idplane-cni', 101]);
    // As a runtime would after a failed CHECK: tear the pod down; DEL finds no endpoint and succeeds.
    await runtime.del(p.at, p.list, p.result);
  });

  it('DEL removes the endpoint, its entries on both nodes and its policy map before it returns; a second DEL succeeds', async () => {
    const p = pods[0]!;
    const id = (await api('GET', `/nodes/node-a/endpoints/${endpointRef(p.at)}`)).id as number;
    expect(existsSync(policyMapPath('node-a', id))).toBe(true);
    await runtime.del(p.at, p.list, p.result);
    expect(existsSync(policyMapPath('node-a', id))).toBe(false);
    expect(lxcOf('node-a', p.ip)).toBeNull();
    expect(ipcacheOf('node-a', p.ip)).toBeNull();
    await eventually(() => expect(ipcacheOf('node-b', p.ip)).toBeNull());
    expect((await unixSocketRequest(nodes['node-a']!.socket, 'GET', `/v1/endpoint/${endpointRef(p.at)}`)).status).toBe(404);
    // The runtime may repeat DEL, also after the namespace is gone.
    execFileSync('ip', ['netns', 'del', netnsNames[0]!]);
    netnsNames.shift();
    await runtime.del({ ...p.at, netns: '' }, p.list, p.result);
  });

  it('fails ADD with code 11 within the timeout while the control plane is down, leaving no endpoint anywhere', async () => {
    await dev.stop();
    const seed: SeedPod = { ns: 'default', pod: 'late', node: 'node-b', labels: { app: 'late' } };
    const { at, list } = sandbox(seed, 9);
    const err = await runtime.add(at, list).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniPluginError);
    const failed = err as CniPluginError;
    expect([failed.plugin, failed.result.code]).toEqual(['idplane-cni', 11]);
    expect(failed.result.msg).toMatch(/control-plane-unavailable/);
    expect(failed.run.ms).toBeLessThan(TIMEOUT_SECONDS * 1000);
    const ips = JSON.parse(execFileSync('ip', ['-j', '-n', netnsNames.at(-1)!, 'addr', 'show', 'dev', 'eth0']).toString())[0].addr_info;
    const ip = ips.find((a: { family: string }) => a.family === 'inet').local as string;
    expect(lxcOf('node-b', ip)).toBeNull();
    expect(ipcacheOf('node-b', ip)).toBeNull();
    // The control plane back (same state): it holds no endpoint for the attachment.
    dev = await startWranglerDev({ persistDir: dev.persistDir, token: dev.token, port: dev.port });
    const res = await fetch(`${dev.url}/v1/clusters/${CLUSTER}/nodes/node-b/endpoints/${endpointRef(at)}`, { headers: { authorization: `Bearer ${dev.token}` } });
    expect(res.status).toBe(404);
  });
});
