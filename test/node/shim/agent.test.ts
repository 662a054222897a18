// The agent against the real control plane (wrangler dev) with the memory backend: it follows
// the feed, resumes from its persisted revision after a restart, and reconciles by snapshot when
// it fell past the feed's horizon.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/datapath/backends/memory.js';
import { hexOf } from '../../../src/datapath/backends/backend.js';
import { endpointMap, endpointOfMap, IPCACHE_MAP, POLICY_MAPS } from '../../../src/datapath/maps.js';
import { decodeIpcacheKey, decodeIpcacheValue } from '../../../src/datapath/layout/ipcache.js';
import { Agent } from '../../../src/shim/agent/agent.js';
import { AgentMetrics } from '../../../src/shim/agent/metrics.js';
import { StateFile } from '../../../src/shim/agent/state-file.js';
import { clusterApi, eventually, putCluster } from '../../e2e/support.js';
import { startWranglerDev, type WranglerDev } from '../../e2e/wrangler-dev.js';

let dev: WranglerDev;
beforeAll(async () => {
  dev = await startWranglerDev();
}, 90000);
afterAll(async () => {
  await dev?.stop();
});
const api = (cluster: string) => clusterApi(() => dev, cluster);

function ipcacheOf(backend: MemoryBackend): Record<string, number> {
  return Object.fromEntries(backend.entries(IPCACHE_MAP).map(([k, v]) => [decodeIpcacheKey(k).prefix, decodeIpcacheValue(v).identity]));
}

/** The cluster's ipcache, plus every node's addresses: node-a's (the agent's own) as host (1), others as remote-node (6). */
async function ipcacheWanted(cluster: string): Promise<Record<string, number>> {
  const r = await api(cluster)('GET', '/ipcache');
  const nodes = (await api(cluster)('GET', '/nodes')).nodes as { name: string; ipv4?: string }[];
  return {
    ...Object.fromEntries(r.entries.map((e: { prefix: string; identity: number }) => [e.prefix, e.identity])),
    ...Object.fromEntries(nodes.filter((n) => n.ipv4).map((n) => [`${n.ipv4}/32`, n.name === 'node-a' ? 1 : 6])),
  };
}

/** Every policy map in the backend: endpoint ID → its entries as the policy API writes them (key → value hex). */
function policyMapsOf(backend: MemoryBackend): Record<number, Record<string, string>> {
  return Object.fromEntries(backend.pinnedMaps(POLICY_MAPS).map((map) => [
    endpointOfMap(POLICY_MAPS, map.name)!,
    Object.fromEntries(backend.entries(map).map(([k, v]) => [hexOf(k), hexOf(v)])),
  ]));
}

/** What the control plane says each of node-a's endpoints' maps must hold. */
async function policyMapsWanted(cluster: string): Promise<Record<number, Record<string, string>>> {
  const { endpoints } = await api(cluster)('GET', '/nodes/node-a/endpoints');
  const out: Record<number, Record<string, string>> = {};
  for (const ep of endpoints as { id: number }[]) {
    const policy = await api(cluster)('GET', `/nodes/node-a/endpoints/${ep.id}/policy`);
    out[ep.id] = Object.fromEntries((policy.entries as { key: string; value: string }[]).map((e) => [e.key, e.value]));
  }
  return out;
}

function newAgent(cluster: string, backend: MemoryBackend, stateDir: string, metrics = new AgentMetrics(), longPoll = false) {
  const agent = new Agent({
    url: dev.url, cluster, node: 'node-a', token: dev.token, ipv4: '192.168.70.1', leaseSeconds: 60,
    backend, stateFile: new StateFile(stateDir), metrics, logger: pino({ level: 'silent' }), longPoll,
  });
  return { agent, metrics };
}

const counter = async (m: AgentMetrics) => (await m.resyncs.get()).values[0]?.value ?? 0;

/** A CNP naming `cidrs` (their CIDR identities enter every node's ipcache, unless an endpoint holds the address). */
const cidrPolicy = (name: string, cidrs: string[]) => ({
  apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace: 'default' },
  spec: { endpointSelector: { matchLabels: { app: 'x' } }, egress: [{ toCIDR: cidrs }] },
});

/** The tunnel endpoint of one ipcache entry in the maps. */
function tunnelOf(backend: MemoryBackend, prefix: string): string | null | undefined {
  const entry = backend.entries(IPCACHE_MAP).find(([k]) => decodeIpcacheKey(k).prefix === prefix);
  return entry && decodeIpcacheValue(entry[1]).tunnelEndpoint;
}

describe('agent', () => {
  it('follows the feed, then resumes from its persisted revision after a restart', async () => {
    const cluster = 'agent-resume';
    await putCluster(dev, cluster);
    await api(cluster)('PUT', '/nodes/node-b', { ipv4: '192.168.70.2' });
    const backend = new MemoryBackend();
    const stateDir = mkdtempSync(join(tmpdir(), 'agent-state-'));
    const first = newAgent(cluster, backend, stateDir);
    await first.agent.start();
    for (let i = 1; i <= 5; i++) await api(cluster)('PUT', `/nodes/node-b/endpoints/${i}`, { labels: [`k8s:app=r${i % 2}`], addressing: { ipv4: `10.70.0.${i}` } });
    await eventually(async () => expect(ipcacheOf(backend)).toEqual(await ipcacheWanted(cluster)));
    await first.agent.stop();
    const stoppedAt = first.agent.appliedRevision;

    // While it is down: more pods, and some go away.
    for (let i = 6; i <= 8; i++) await api(cluster)('PUT', `/nodes/node-b/endpoints/${i}`, { labels: ['k8s:app=later'], addressing: { ipv4: `10.70.0.${i}` } });
    await api(cluster)('DELETE', '/nodes/node-b/endpoints/1');

    const second = newAgent(cluster, backend, stateDir);
    await second.agent.start();
    expect(await counter(second.metrics)).toBe(0);
    expect(second.agent.appliedRevision).toBeGreaterThan(stoppedAt);
    expect(ipcacheOf(backend)).toEqual(await ipcacheWanted(cluster));
    await second.agent.stop();

    // After a reboot the maps are empty but the saved revision is not: it must not be trusted.
    const rebooted = new MemoryBackend();
    const third = newAgent(cluster, rebooted, stateDir);
    await third.agent.start();
    expect(await counter(third.metrics)).toBe(1);
    expect(ipcacheOf(rebooted)).toEqual(await ipcacheWanted(cluster));
    await third.agent.stop();
  });

  it('reconciles by snapshot when it fell behind the feed horizon: stale entries go, live ones stay', async () => {
    const cluster = 'agent-resync';
    await putCluster(dev, cluster);
    await api(cluster)('PATCH', '/config', { 'feed-horizon-revisions': 5 });
    await api(cluster)('PUT', '/nodes/node-b', { ipv4: '192.168.71.2' });
    const backend = new MemoryBackend();
    const stateDir = mkdtempSync(join(tmpdir(), 'agent-state-'));
    const first = newAgent(cluster, backend, stateDir);
    await first.agent.start();
    for (let i = 1; i <= 4; i++) await api(cluster)('PUT', `/nodes/node-b/endpoints/${i}`, { labels: ['k8s:app=s'], addressing: { ipv4: `10.71.0.${i}` } });
    await eventually(async () => expect(ipcacheOf(backend)).toEqual(await ipcacheWanted(cluster)));
    await first.agent.stop();

    await api(cluster)('DELETE', '/nodes/node-b/endpoints/2');
    for (let i = 5; i <= 80; i++) await api(cluster)('PUT', `/nodes/node-b/endpoints/${i}`, { labels: ['k8s:app=s'], addressing: { ipv4: `10.71.0.${i}` } });
    // A policy's CIDR prefixes: one outside the cluster, one an endpoint's address (its entry wins).
    await api(cluster)('PUT', '/policies/default/out', cidrPolicy('out', ['203.0.113.0/24', '10.71.0.4/32']));

    const second = newAgent(cluster, backend, stateDir);
    await second.agent.start();
    expect(await counter(second.metrics)).toBe(1);
    const want = await ipcacheWanted(cluster);
    expect(want['10.71.0.2/32']).toBeUndefined();
    expect(want['203.0.113.0/24']).toBeGreaterThan(1 << 24);
    expect(want['10.71.0.4/32']).toBeLessThan(1 << 24);
    expect(ipcacheOf(backend)).toEqual(want);
    expect(tunnelOf(backend, '203.0.113.0/24')).toBeNull();
    expect(tunnelOf(backend, '10.71.0.4/32')).toBe('192.168.71.2');
    await second.agent.stop();
  });

  it('follows by long-poll, and exports its progress as Prometheus metrics', async () => {
    const cluster = 'agent-longpoll';
    await putCluster(dev, cluster);
    await api(cluster)('PUT', '/nodes/node-b', { ipv4: '192.168.72.2' });
    const backend = new MemoryBackend();
    const { agent, metrics } = newAgent(cluster, backend, mkdtempSync(join(tmpdir(), 'agent-state-')), new AgentMetrics(), true);
    await agent.start();
    for (let i = 1; i <= 3; i++) await api(cluster)('PUT', `/nodes/node-b/endpoints/${i}`, { labels: ['k8s:app=lp'], addressing: { ipv4: `10.72.0.${i}` } });
    await eventually(async () => expect(ipcacheOf(backend)).toEqual(await ipcacheWanted(cluster)));
    // CIDR prefixes by the feed: the one an endpoint holds comes back as the CIDR entry when the endpoint goes.
    await api(cluster)('PUT', '/policies/default/out', cidrPolicy('out', ['198.51.100.0/24', '10.72.0.1/32']));
    await api(cluster)('DELETE', '/nodes/node-b/endpoints/1');
    await eventually(async () => expect(ipcacheOf(backend)).toEqual(await ipcacheWanted(cluster)));
    expect(ipcacheOf(backend)['10.72.0.1/32']).toBeGreaterThan(1 << 24);
    expect(tunnelOf(backend, '10.72.0.1/32')).toBeNull();
    const revision = (await api(cluster)('GET', '/ipcache')).revision as number;
    await eventually(() => expect(agent.appliedRevision).toBe(revision));
    const text = await metrics.registry.metrics();
    expect(text).toContain(`idplane_agent_applied_revision ${revision}`);
    expect(text).toMatch(/idplane_agent_events_applied_total [1-9]/);
    expect(text).toContain('idplane_agent_lag_revisions 0');
    expect(text).toContain('idplane_agent_map_entries{map="cilium_ipcache_v2"}');
    expect(text).toMatch(/idplane_agent_apply_seconds_count [1-9]/);
    await agent.stop();
  });

  it('resyncs when its saved revision is ahead of a cluster that was deleted and put again', async () => {
    const cluster = 'agent-recreated';
    await putCluster(dev, cluster);
    const backend = new MemoryBackend();
    const stateDir = mkdtempSync(join(tmpdir(), 'agent-state-'));
    const first = newAgent(cluster, backend, stateDir);
    await first.agent.start();
    for (let i = 1; i <= 20; i++) await api(cluster)('PUT', `/nodes/node-a/endpoints/${i}`, { labels: ['k8s:app=old'], addressing: { ipv4: `10.71.0.${i}` } });
    await eventually(async () => expect(ipcacheOf(backend)).toEqual(await ipcacheWanted(cluster)));
    await first.agent.stop();

    // The admin deletes the cluster and puts it again: its revisions start over, below the saved one.
    await api(cluster)('DELETE', '/nodes/node-a');
    expect((await fetch(`${dev.url}/v1/clusters/${cluster}`, { method: 'DELETE', headers: { authorization: `Bearer ${dev.token}` } })).status).toBe(200);
    await putCluster(dev, cluster);
    await api(cluster)('PUT', '/nodes/node-z', { ipv4: '192.168.71.9' });
    await api(cluster)('PUT', '/nodes/node-z/endpoints/1', { labels: ['k8s:app=new'], addressing: { ipv4: '10.71.1.1' } });

    const second = newAgent(cluster, backend, stateDir);
    await second.agent.start();
    expect(await counter(second.metrics)).toBe(1);
    expect(ipcacheOf(backend)).toEqual(await ipcacheWanted(cluster));
    expect(Object.keys(ipcacheOf(backend)).sort()).toEqual(['10.71.1.1/32', '192.168.70.1/32', '192.168.71.9/32']);
    await second.agent.stop();
  });

  it("keeps each of its endpoints' policy map equal to the endpoint's policy: through changes, deletes and a restart", async () => {
    const cluster = 'agent-policy-maps';
    await putCluster(dev, cluster);
    await api(cluster)('PUT', '/nodes/node-b', { ipv4: '192.168.73.2' });
    const backend = new MemoryBackend();
    const stateDir = mkdtempSync(join(tmpdir(), 'agent-state-'));
    const first = newAgent(cluster, backend, stateDir);
    await first.agent.start();
    const web = { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] };
    await api(cluster)('PUT', '/policies/default/web', { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'web', namespace: 'default' }, spec: web });
    for (const [id, app] of [[1, 'web'], [2, 'web'], [3, 'client']] as const) {
      await api(cluster)('PUT', `/nodes/node-a/endpoints/${id}`, { labels: [`k8s:app=${app}`], 'k8s-namespace': 'default', addressing: { ipv4: `10.73.0.${id}` } });
    }
    await api(cluster)('PUT', '/nodes/node-b/endpoints/1', { labels: ['k8s:app=client'], 'k8s-namespace': 'default', addressing: { ipv4: '10.73.1.1' } });
    await eventually(async () => expect(policyMapsOf(backend)).toEqual(await policyMapsWanted(cluster)));
    expect(Object.keys(policyMapsOf(backend))).toEqual(['1', '2', '3']);
    const before = policyMapsOf(backend)[1]!;
    expect(Object.keys(before).length).toBeGreaterThan(2);

    // A policy change rewrites the maps of the endpoints it selects; a deleted endpoint's map goes.
    await api(cluster)('PUT', '/policies/default/web', { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'web', namespace: 'default' }, spec: { ...web, ingress: [{ ...web.ingress[0], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] } });
    await api(cluster)('DELETE', '/nodes/node-a/endpoints/2');
    await eventually(async () => expect(policyMapsOf(backend)).toEqual(await policyMapsWanted(cluster)));
    expect(Object.keys(policyMapsOf(backend))).toEqual(['1', '3']);
    expect(policyMapsOf(backend)[1]).not.toEqual(before);
    expect(ipcacheOf(backend)).toEqual(await ipcacheWanted(cluster));
    await first.agent.stop();

    // While it is down: the policy goes, an endpoint of a hosted identity comes, another one goes,
    // and a stale map of an endpoint that no longer exists is left behind.
    await api(cluster)('DELETE', '/policies/default/web');
    await api(cluster)('PUT', '/nodes/node-a/endpoints/4', { labels: ['k8s:app=client'], 'k8s-namespace': 'default', addressing: { ipv4: '10.73.0.4' } });
    await api(cluster)('DELETE', '/nodes/node-a/endpoints/3');
    backend.put(endpointMap(POLICY_MAPS, 99), new Uint8Array(12), new Uint8Array(8));

    const second = newAgent(cluster, backend, stateDir);
    await second.agent.start();
    expect(await counter(second.metrics)).toBe(0);
    expect(policyMapsOf(backend)).toEqual(await policyMapsWanted(cluster));
    expect(Object.keys(policyMapsOf(backend))).toEqual(['1', '4']);
    // After the restart it fills a new endpoint's map from the entries it got back.
    await api(cluster)('PUT', '/nodes/node-a/endpoints/5', { labels: ['k8s:app=client'], 'k8s-namespace': 'default', addressing: { ipv4: '10.73.0.5' } });
    await eventually(async () => expect(policyMapsOf(backend)).toEqual(await policyMapsWanted(cluster)));
    expect(policyMapsOf(backend)[5]).toEqual(policyMapsOf(backend)[4]);
    await second.agent.stop();
  });
});
