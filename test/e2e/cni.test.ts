// End to end as root: pods (network namespaces) attached through the conflist bridge + host-local +
// idplane-cni, invoked exactly as libcni invokes them, on two nodes: two idplane-agent processes,
// each with its own bpffs mount and local API socket, against a real `wrangler dev`. The moment
// each ADD returns, bpftool finds the pod's lxc and ipcache entries on its node (with
// wait-for-nodes, on the other node too) and its policy map equal to the endpoint's policy.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeLxcKey } from '../../src/datapath/layout/lxc.js';
import { CniPluginError, type Attachment, type Conflist } from './cni-chain.js';
import { CniCluster, cniUnavailableReason, endpointRef, otherNode, type PodSpec } from './cni-cluster.js';
import { runUnlessUnavailable } from './root.js';
import { eventually, lookupPinned, unixSocketRequest } from './support.js';
import { startWranglerDev } from './wrangler-dev.js';

const canRun = runUnlessUnavailable('idplane-cni e2e (CNI plugins on network namespaces with real BPF maps)', cniUnavailableReason());

const CLI = resolve(import.meta.dirname, '../../dist/idplane.js');
const CLUSTER = 'e2e-cni';
const TIMEOUT_SECONDS = 10;
const c = new CniCluster(CLUSTER, { 'wait-for-nodes': true, 'timeout-seconds': TIMEOUT_SECONDS });
const { api, runtime, nodes } = c;

/** The seed's five pods (issue 8), spread over the two nodes; the two coredns share one identity. */
const SEED: PodSpec[] = [
  { ns: 'default', pod: 'nettool-1', node: 'node-a', labels: { app: 'nettool-1' } },
  { ns: 'default', pod: 'nettool-2', node: 'node-b', labels: { app: 'nettool-2' } },
  { ns: 'kube-system', pod: 'coredns-5d78c9869d-62zlb', node: 'node-a', labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': '5d78c9869d' } },
  { ns: 'kube-system', pod: 'coredns-5d78c9869d-tmvt4', node: 'node-b', labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': '5d78c9869d' } },
  { ns: 'local-path-storage', pod: 'local-path-provisioner-6bc4bddd6b-x7gpb', node: 'node-a', labels: { app: 'local-path-provisioner' } },
];

interface Pod {
  seed: PodSpec;
  at: Attachment;
  list: Conflist;
  result: any;
  ip: string;
}
const pods: Pod[] = [];

const ifindexOf = (ifname: string) => (JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'dev', ifname]).toString()) as { ifindex: number }[])[0]!.ifindex;
const pluginOf = (list: Conflist) => list.plugins[1]!;

describe.skipIf(!canRun)('idplane-cni in a bridge + host-local chain, two nodes (root, real BPF maps)', () => {
  beforeAll(async () => {
    await c.start();
    // A policy in place before the pods come: nettool-1 takes TCP 80 from nettool-2 only.
    await api('PUT', '/policies/default/nettool-1', {
      apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'nettool-1' },
      spec: { endpointSelector: { matchLabels: { app: 'nettool-1' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'nettool-2' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] },
    });
  }, 180000);

  afterAll(() => c.stop());

  it("brings the seed's five pods up on two nodes: when ADD returns, the maps of both nodes hold them", async () => {
    for (const [i, seed] of SEED.entries()) {
      const { at, list } = c.sandbox(seed, i);
      const { result, runs } = await runtime.add(at, list);
      // Read at once, no retry: ADD's return promises the entries are in place.
      const ip = (result.ips[0].address as string).split('/')[0]!;
      const lxc = c.lxcOf(seed.node, ip);
      const here = c.ipcacheOf(seed.node, ip);
      const there = c.ipcacheOf(otherNode(seed.node), ip);
      const lxcId = lxc?.lxcId ?? 0;
      const policyMap = c.policyMapOf(seed.node, lxcId);
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
      expect(policyMap).toEqual(await c.wantedPolicyMap(seed.node, endpointRef(at)));
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
      return [c.policyMapOf(p.seed.node, id), await c.wantedPolicyMap(p.seed.node, endpointRef(p.at))];
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
      env: { ...process.env, IDPLANE_URL: c.dev.url, IDPLANE_TOKEN: c.dev.token, IDPLANE_CLUSTER: CLUSTER },
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
    expect(existsSync(c.policyMapPath('node-a', id))).toBe(true);
    await runtime.del(p.at, p.list, p.result);
    expect(existsSync(c.policyMapPath('node-a', id))).toBe(false);
    expect(c.lxcOf('node-a', p.ip)).toBeNull();
    expect(c.ipcacheOf('node-a', p.ip)).toBeNull();
    await eventually(() => expect(c.ipcacheOf('node-b', p.ip)).toBeNull());
    expect((await unixSocketRequest(nodes['node-a']!.socket, 'GET', `/v1/endpoint/${endpointRef(p.at)}`)).status).toBe(404);
    // The runtime may repeat DEL, also after the namespace is gone.
    c.deleteNetns(p.at);
    await runtime.del({ ...p.at, netns: '' }, p.list, p.result);
  });

  it('fails ADD with code 11 within the timeout while the control plane is down, leaving no endpoint anywhere', async () => {
    await c.dev.stop({ keepState: true });
    const seed: PodSpec = { ns: 'default', pod: 'late', node: 'node-b', labels: { app: 'late' } };
    const { at, list } = c.sandbox(seed, 9);
    const err = await runtime.add(at, list).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniPluginError);
    const failed = err as CniPluginError;
    expect([failed.plugin, failed.result.code]).toEqual(['idplane-cni', 11]);
    expect(failed.result.msg).toMatch(/control-plane-unavailable/);
    expect(failed.run.ms).toBeLessThan(TIMEOUT_SECONDS * 1000);
    const ips = JSON.parse(execFileSync('ip', ['-j', '-n', c.netnsNames.at(-1)!, 'addr', 'show', 'dev', 'eth0']).toString())[0].addr_info;
    const ip = ips.find((a: { family: string }) => a.family === 'inet').local as string;
    expect(c.lxcOf('node-b', ip)).toBeNull();
    expect(c.ipcacheOf('node-b', ip)).toBeNull();
    // The control plane back (same state): it holds no endpoint for the attachment.
    c.dev = await startWranglerDev({ persistDir: c.dev.persistDir, token: c.dev.token, port: c.dev.port });
    const res = await fetch(`${c.dev.url}/v1/clusters/${CLUSTER}/nodes/node-b/endpoints/${endpointRef(at)}`, { headers: { authorization: `Bearer ${c.dev.token}` } });
    expect(res.status).toBe(404);
  });
});
