// End to end as root: the agent's local endpoint API on its unix socket, with real workerd and a
// real pinned BPF map set. The moment a create answers, bpftool finds the endpoint's lxc and
// ipcache entries; the moment a delete answers, they are gone; a label change answers with the
// new identity already in the lxc entry. With the control plane down, a create fails at once
// with 503 control-plane-unavailable. The agent reads pod labels from a small local server that
// answers the pod GET as kube-apiserver does (`--kubeconfig`).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeIpcacheValue, encodeIpcacheKey } from '../../src/datapath/layout/ipcache.js';
import { decodeLxcValue, encodeLxcKey } from '../../src/datapath/layout/lxc.js';
import { spawnAgent, type AgentProcess } from './agent-process.js';
import { requireRootOrSkip } from './root.js';
import { clusterApi, eventually, lookupPinned, putCluster, unixSocketRequest } from './support.js';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.js';

const canRun = requireRootOrSkip('the local endpoint API with real BPF maps');
const CLUSTER = 'e2e-local';
const work = mkdtempSync(join(tmpdir(), 'idplane-local-'));
const bpffs = join(work, 'bpffs');
const socket = join(work, 'run/agent.sock');
let dev: WranglerDev;
let agent: AgentProcess | undefined;
let apiserver: Server;

/** pod-N has the labels its create carries too; `labelled` has more in the API than in the create. */
function podLabelsOf(namespace: string, name: string): Record<string, string> | undefined {
  if (namespace === 'default' && name === 'labelled') return { app: 'from-apiserver', 'app.kubernetes.io/part-of': 'shop' };
  const m = /^pod-(\d+)$/.exec(name);
  return namespace === 'default' && m ? { app: `local-${Number(m[1]) % 3}` } : undefined;
}

async function startApiserver(): Promise<string> {
  apiserver = createServer((req, res) => {
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/?]+)/.exec(req.url ?? '');
    const labels = m && podLabelsOf(m[1]!, m[2]!);
    if (!labels) return void res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Pod', apiVersion: 'v1', metadata: { name: m[2], namespace: m[1], labels } }));
  });
  await new Promise<void>((r) => apiserver.listen(0, '127.0.0.1', r));
  const path = join(work, 'kubeconfig');
  writeFileSync(path, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'e2e',
    clusters: [{ name: 'e2e', cluster: { server: `http://127.0.0.1:${(apiserver.address() as AddressInfo).port}`, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'agent', user: { token: 'e2e' } }],
    contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'agent' } }],
  }));
  return path;
}
const api = clusterApi(() => dev, CLUSTER);

const local = (method: string, path: string, body?: unknown) => unixSocketRequest(socket, method, path, body);
const lookup = (map: string, key: Uint8Array) => lookupPinned(join(bpffs, 'tc/globals', map), key);

const lxcOf = (ip: string) => {
  const v = lookup('cilium_lxc', encodeLxcKey(ip));
  return v && decodeLxcValue(v);
};
const ipcacheOf = (ip: string) => {
  const v = lookup('cilium_ipcache_v2', encodeIpcacheKey(`${ip}/32`));
  return v && decodeIpcacheValue(v);
};

const pod = (i: number) => ({
  labels: [`k8s:app=local-${i % 3}`], 'k8s-namespace': 'default', 'k8s-pod-name': `pod-${i}`, 'container-id': `ctr${i}`,
  'container-interface-name': 'eth0', 'interface-index': 100 + i, addressing: { ipv4: `10.86.0.${i}` }, 'sync-build-endpoint': true,
});

describe.skipIf(!canRun)('the local endpoint API (root, real BPF maps)', () => {
  beforeAll(async () => {
    dev = await startWranglerDev();
    await putCluster(dev, CLUSTER);
    writeFileSync(join(work, 'token'), dev.token);
    mkdirSync(bpffs, { recursive: true });
    execFileSync('mount', ['-t', 'bpf', 'bpf', bpffs]);
    const kubeconfig = await startApiserver();
    agent = spawnAgent(['run', '--url', dev.url, '--cluster', CLUSTER, '--node', 'node-l', '--token-file', join(work, 'token'),
      '--bpffs', bpffs, '--state-dir', join(work, 'state'), '--socket', socket, '--kubeconfig', kubeconfig, '--metrics-address', '127.0.0.1:0', '--ipv4', '192.168.86.1']);
    await eventually(async () => expect((await local('GET', '/v1/healthz')).body.status).toBe('ok'), 30000);
  }, 120000);

  afterAll(async () => {
    await agent?.stop();
    await dev?.stop();
    apiserver?.close();
    execFileSync('umount', [bpffs]);
  });

  it('serves on a 0600 socket', () => {
    expect(statSync(socket).mode & 0o777).toBe(0o600);
  });

  it("answers a create only when the node's maps hold the endpoint; a retried ADD answers the same endpoint", async () => {
    for (let i = 1; i <= 8; i++) {
      const r = await local('PUT', `/v1/endpoint/cni-attachment-id:ctr${i}:eth0`, pod(i));
      expect(r.status).toBe(201);
      // Read at once, no retry: the answer promises the maps already hold it.
      expect(lxcOf(`10.86.0.${i}`)).toMatchObject({ lxcId: r.body.id, secId: r.body.identity.id, ifindex: 100 + i });
      expect(ipcacheOf(`10.86.0.${i}`)?.identity).toBe(r.body.identity.id);
    }
    const again = await local('PUT', '/v1/endpoint/cni-attachment-id:ctr1:eth0', pod(1));
    expect(again.status).toBe(200);
    expect(again.body.id).toBe((await local('GET', '/v1/endpoint/cni-attachment-id:ctr1:eth0')).body.id);
    expect((await local('GET', '/v1/endpoint')).body.endpoints).toHaveLength(8);
  });

  it('takes the pod labels from the Kubernetes API; a pod it does not know is 404 pod-not-found', async () => {
    const r = await local('PUT', '/v1/endpoint/cni-attachment-id:ctr9:eth0', { ...pod(9), labels: ['k8s:app=from-cni'], 'k8s-pod-name': 'labelled' });
    expect(r.status).toBe(201);
    expect(r.body.labels.identity).toEqual(expect.arrayContaining(['k8s:app=from-apiserver', 'k8s:app.kubernetes.io/part-of=shop']));
    expect(r.body.labels.identity).not.toContain('k8s:app=from-cni');
    const ghost = await local('PUT', '/v1/endpoint/cni-attachment-id:ctr10:eth0', { ...pod(10), 'k8s-pod-name': 'ghost' });
    expect([ghost.status, ghost.body.error.code]).toEqual([404, 'pod-not-found']);
    await local('DELETE', '/v1/endpoint/cni-attachment-id:ctr9:eth0');
  });

  it('answers a label change with the new identity already in the lxc entry', async () => {
    const r = await local('PATCH', '/v1/endpoint/cni-attachment-id:ctr2:eth0/labels', { add: ['k8s:tier=db'] });
    expect(r.status).toBe(200);
    expect(r.body.labels.identity).toContain('k8s:tier=db');
    expect(lxcOf('10.86.0.2')?.secId).toBe(r.body.identity.id);
    expect(ipcacheOf('10.86.0.2')?.identity).toBe(r.body.identity.id);
  });

  it('answers a delete when the entries are gone; a second delete is 404 endpoint-not-found', async () => {
    const r = await local('DELETE', '/v1/endpoint/cni-attachment-id:ctr3:eth0');
    expect(r.status).toBe(200);
    expect(lxcOf('10.86.0.3')).toBeNull();
    expect(ipcacheOf('10.86.0.3')).toBeNull();
    const again = await local('DELETE', '/v1/endpoint/cni-attachment-id:ctr3:eth0');
    expect([again.status, again.body.error.code]).toEqual([404, 'endpoint-not-found']);
  });

  it("passes the control plane's refusals through, changing nothing", async () => {
    const before = await api('GET', '/nodes/node-l/endpoints');
    const r = await local('PUT', '/v1/endpoint/cilium-local:0', { ...pod(20), addressing: { ipv4: '10.86.0.1' } });
    expect([r.status, r.body.error.code]).toEqual([409, 'ip-in-use']);
    const bad = await local('PUT', '/v1/endpoint/cilium-local:0', { labels: 'k8s:app=x' });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid-request']);
    expect(await api('GET', '/nodes/node-l/endpoints')).toEqual(before);
  });

  it('fails a create at once with 503 control-plane-unavailable while the control plane is down', async () => {
    await dev.stop();
    const t0 = performance.now();
    const r = await local('PUT', '/v1/endpoint/cni-attachment-id:ctr30:eth0', pod(30));
    expect([r.status, r.body.error.code]).toEqual([503, 'control-plane-unavailable']);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(lxcOf('10.86.0.30')).toBeNull();
  });
});
