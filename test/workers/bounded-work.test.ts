// Work that grows with cluster state runs in bounded batches: GC of tens of thousands of
// identities, lease expiry and DELETE of a node with 4095 endpoints. For each worst case: the
// work completes, every feed row stays ≤ 1 MiB with a fixed number of items, consumers see
// consistent states between batches, and the Durable Object answers other requests meanwhile.
import { describe, expect, it } from 'vitest';
import { MAX_FEED_BATCH_BYTES } from '../../durable-objects/cluster-state.js';
import { MAX_IDENTITIES_PER_BATCH } from '../../durable-objects/ops/gc.js';
import { MAX_ENDPOINTS_PER_BATCH } from '../../durable-objects/ops/nodes.js';
import type { FeedEvent } from '../../src/core/feed.js';
import { call, dumpState, freshCluster } from './helpers.js';
import {
  clusterRevision, feedRows, runAlarmsUntil, revisionsSeenDuring, seedEndpoints, seedReleasedIdentities, shiftClock, type StoredBatch,
} from './large-state.js';

const MAX_ENDPOINTS = 4095;
/** A node name of the longest form, so that its events are as large as they get. */
const BIG_NODE = `big-${'n'.repeat(59)}`;

/** The node's removal as consumers see it: each endpoint with its ipcache entries, at most a batch per revision, the node last. */
function expectNodeRemovedInBatches(rows: StoredBatch[], node: string, endpoints: number): void {
  const series = rows.filter((r) => r.events.some((e) => ('node' in e && e.node === node) || (e.type === 'node-delete' && e.name === node)));
  let removed = 0;
  for (const [i, row] of series.entries()) {
    const deletes = row.events.filter((e): e is Extract<FeedEvent, { type: 'endpoint-delete' }> => e.type === 'endpoint-delete' && e.node === node);
    expect(deletes.length).toBeLessThanOrEqual(MAX_ENDPOINTS_PER_BATCH);
    const prefixes = row.events.filter((e) => e.type === 'ipcache-delete' && e.node === node).map((e) => (e as { endpoint: number }).endpoint);
    for (const d of deletes) expect(prefixes.filter((id) => id === d.id)).toHaveLength(2);
    removed += deletes.length;
    const last = i === series.length - 1;
    expect(row.events.some((e) => e.type === 'node-delete' && e.name === node)).toBe(last);
    if (last) expect(row.events[row.events.length - 1]).toEqual({ type: 'node-delete', name: node });
  }
  expect(removed).toBe(endpoints);
  expect(series.length).toBeGreaterThanOrEqual(Math.ceil(endpoints / MAX_ENDPOINTS_PER_BATCH));
}

interface WorstCase {
  name: string;
  /** Builds the state; returns what `run` needs. */
  setup(cluster: string, base: string): Promise<void>;
  /** Starts the work. */
  run(cluster: string, base: string): Promise<unknown>;
  check(cluster: string, base: string, rows: StoredBatch[]): Promise<void>;
}

const cases: WorstCase[] = [
  {
    name: 'identity GC of 65,000 identities',
    async setup(cluster, base) {
      await seedReleasedIdentities(cluster, 65_000, Date.now());
      await shiftClock(cluster, 3600_000);
      // Any mutation arms the alarm for the oldest candidate.
      expect((await call('PATCH', `${base}/config`, { body: { 'identity-gc-grace-seconds': 900 } })).status).toBe(200);
    },
    run: (cluster, base) => runAlarmsUntil(cluster, async () => (await call('GET', `${base}/identities?limit=1`)).body.identities.length === 0),
    async check(cluster, _base, rows) {
      const deleted = rows.flatMap((r) => r.events.filter((e) => e.type === 'identity-delete').map((e) => (e as { id: number }).id));
      expect(deleted).toEqual(Array.from({ length: 65_000 }, (_, i) => 256 + i));
      for (const r of rows) expect(r.events.length).toBeLessThanOrEqual(MAX_IDENTITIES_PER_BATCH);
      const state = await dumpState(cluster);
      expect(state.identities).toEqual([]);
      expect(state.identity_quarantine).toHaveLength(65_000);
    },
  },
  {
    name: 'lease expiry of a node with 4095 dual-stack endpoints',
    async setup(cluster, base) {
      expect((await call('PUT', `${base}/nodes/${BIG_NODE}`, { body: { ipv4: '192.168.50.1', ipv6: 'fd00::50:1', 'lease-seconds': 60 } })).status).toBe(201);
      await seedEndpoints(cluster, BIG_NODE, MAX_ENDPOINTS);
      await shiftClock(cluster, 61_000);
    },
    run: (cluster, base) => runAlarmsUntil(cluster, async () => (await call('GET', `${base}/nodes/${BIG_NODE}`)).status === 404),
    async check(_cluster, base, rows) {
      expect((await call('GET', `${base}/nodes/${BIG_NODE}`)).status).toBe(404);
      expect((await call('GET', `${base}/ipcache`)).body.entries).toEqual([]);
      expectNodeRemovedInBatches(rows, BIG_NODE, MAX_ENDPOINTS);
    },
  },
  {
    name: 'DELETE of a node with 4095 dual-stack endpoints',
    async setup(cluster, base) {
      expect((await call('PUT', `${base}/nodes/${BIG_NODE}`, { body: { ipv4: '192.168.51.1', ipv6: 'fd00::51:1' } })).status).toBe(201);
      await seedEndpoints(cluster, BIG_NODE, MAX_ENDPOINTS);
    },
    run: async (_cluster, base) => {
      const res = await call('DELETE', `${base}/nodes/${BIG_NODE}`);
      expect(res).toEqual({ status: 200, body: { name: BIG_NODE, 'endpoints-removed': MAX_ENDPOINTS, revision: expect.any(Number) } });
    },
    async check(_cluster, base, rows) {
      expect((await call('GET', `${base}/nodes/${BIG_NODE}`)).status).toBe(404);
      expect((await call('GET', `${base}/ipcache`)).body.entries).toEqual([]);
      expect((await call('GET', `${base}/identities`)).body.identities.map((i: { references: number }) => i.references)).toEqual([0]);
      expectNodeRemovedInBatches(rows, BIG_NODE, MAX_ENDPOINTS);
    },
  },
];

describe('bounded work', () => {
  it.each(cases)('$name: completes in feed rows ≤ 1 MiB while other requests are answered', async ({ setup, run, check }) => {
    const cluster = await freshCluster('bounded');
    const base = `/v1/clusters/${cluster}`;
    await setup(cluster, base);
    const before = await clusterRevision(base);

    const seen = await revisionsSeenDuring(base, run(cluster, base));

    const after = await clusterRevision(base);
    const rows = await feedRows(cluster, before);
    expect(rows.length).toBeGreaterThan(1);
    for (const r of rows) expect(r.bytes).toBeLessThanOrEqual(MAX_FEED_BATCH_BYTES);
    // A read was answered between two batches: it saw a revision strictly inside the run.
    expect(seen.some((r) => r > before && r < after)).toBe(true);
    await check(cluster, base, rows);
  }, 300_000);
});

describe('re-addressing a node', () => {
  it('with 4095 dual-stack endpoints re-announces every entry in revisions ≤ 1 MiB, in one transaction', async () => {
    const cluster = await freshCluster('readdress');
    const base = `/v1/clusters/${cluster}`;
    expect((await call('PUT', `${base}/nodes/${BIG_NODE}`, { body: { ipv4: '192.168.52.1', ipv6: 'fd00::52:1' } })).status).toBe(201);
    await seedEndpoints(cluster, BIG_NODE, MAX_ENDPOINTS);
    const before = await clusterRevision(base);

    const moved = await call('PUT', `${base}/nodes/${BIG_NODE}`, { body: { ipv4: '192.168.52.2', ipv6: 'fd00::52:2' } });

    expect(moved.status).toBe(200);
    const rows = await feedRows(cluster, before);
    expect(rows.length).toBeGreaterThan(1);
    for (const r of rows) expect(r.bytes).toBeLessThanOrEqual(MAX_FEED_BATCH_BYTES);
    const upserts = rows.flatMap((r) => r.events.filter((e) => e.type === 'ipcache-upsert'));
    expect(upserts).toHaveLength(2 * MAX_ENDPOINTS);
    expect(new Set(upserts.map((e) => (e as { 'host-ip': string })['host-ip']))).toEqual(new Set(['192.168.52.2']));
    expect(rows[0]!.events[0]).toEqual({ type: 'node-upsert', name: BIG_NODE, ipv4: '192.168.52.2', ipv6: 'fd00::52:2' });
  }, 300_000);
});
