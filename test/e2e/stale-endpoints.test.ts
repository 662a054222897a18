// End to end as root: a pod whose CNI DEL never runs. Its network namespace is deleted, taking the
// veth pair with it; the agent notices the host-side interface is gone and, after the grace
// period, removes the endpoint from the control plane and its entries from the maps. A pod whose
// interface stays is left alone.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeLxcKey } from '../../src/datapath/layout/lxc.js';
import { spawnAgent, type AgentProcess } from './agent-process.js';
import { requireRootOrSkip } from './root.js';
import { clusterApi, eventually, lookupPinned, putCluster, unixSocketRequest } from './support.js';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.js';

const canRun = requireRootOrSkip('stale endpoint removal with real veths and BPF maps');
const CLUSTER = 'e2e-stale';
const work = mkdtempSync(join(tmpdir(), 'idplane-stale-'));
const bpffs = join(work, 'bpffs');
const socket = join(work, 'agent.sock');
const suffix = process.pid.toString(36);
const pods = [
  { netns: `idpl-stale-a-${suffix}`, host: `idsa${suffix}`.slice(0, 15), ip: '10.87.0.1' },
  { netns: `idpl-stale-b-${suffix}`, host: `idsb${suffix}`.slice(0, 15), ip: '10.87.0.2' },
];
let dev: WranglerDev;
let agent: AgentProcess | undefined;
const api = clusterApi(() => dev, CLUSTER);

const local = (method: string, path: string, body?: unknown) => unixSocketRequest(socket, method, path, body);
const lxcPresent = (ip: string) => lookupPinned(join(bpffs, 'tc/globals/cilium_lxc'), encodeLxcKey(ip)) !== null;

describe.skipIf(!canRun)('endpoints whose CNI DEL never ran (root, real veths)', () => {
  beforeAll(async () => {
    dev = await startWranglerDev();
    await putCluster(dev, CLUSTER);
    writeFileSync(join(work, 'token'), dev.token);
    mkdirSync(bpffs, { recursive: true });
    execFileSync('mount', ['-t', 'bpf', 'bpf', bpffs]);
    for (const p of pods) {
      execFileSync('ip', ['netns', 'add', p.netns]);
      execFileSync('ip', ['link', 'add', p.host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.netns]);
    }
    agent = spawnAgent(['run', '--url', dev.url, '--cluster', CLUSTER, '--node', 'node-s', '--token-file', join(work, 'token'),
      '--bpffs', bpffs, '--state-dir', join(work, 'state'), '--socket', socket, '--metrics-address', '127.0.0.1:0', '--ipv4', '192.168.87.1',
      '--stale-endpoint-grace-seconds', '2']);
    await eventually(async () => expect((await local('GET', '/v1/healthz')).status).toBe(200), 30000);
  }, 120000);

  afterAll(async () => {
    await agent?.stop();
    await dev?.stop();
    for (const p of pods) execFileSync('ip', ['netns', 'del', p.netns], { stdio: 'ignore' });
    execFileSync('umount', [bpffs]);
  });

  it('removes the endpoint of a deleted network namespace after the grace period, and only that one', async () => {
    for (const [i, p] of pods.entries()) {
      const ifindex = Number(readFileSync(`/sys/class/net/${p.host}/ifindex`, 'utf8'));
      const r = await local('PUT', `/v1/endpoint/cni-attachment-id:ctr-${suffix}-${i}:eth0`, {
        labels: ['k8s:app=stale'], 'k8s-namespace': 'default', 'k8s-pod-name': `stale-${i}`, 'container-id': `ctr-${suffix}-${i}`,
        'container-interface-name': 'eth0', 'interface-name': p.host, 'interface-index': ifindex, addressing: { ipv4: p.ip }, 'sync-build-endpoint': true,
      });
      expect(r.status).toBe(201);
      expect(lxcPresent(p.ip)).toBe(true);
    }
    // The runtime lost the first pod: its netns goes (and its veth pair with it), no CNI DEL.
    execFileSync('ip', ['netns', 'del', pods[0]!.netns]);
    const gone = performance.now();
    await eventually(async () => {
      const list = await api('GET', '/nodes/node-s/endpoints');
      expect(list.endpoints.map((e: { 'k8s-pod-name': string }) => e['k8s-pod-name'])).toEqual(['stale-1']);
    }, 20000);
    // Not before the grace period.
    expect(performance.now() - gone).toBeGreaterThan(2000);
    await eventually(() => expect(lxcPresent(pods[0]!.ip)).toBe(false));
    expect(lxcPresent(pods[1]!.ip)).toBe(true);
    execFileSync('ip', ['netns', 'add', pods[0]!.netns]); // for afterAll
  });
});
