// Builders of large cluster states for the bounded-work tests, made inside the Durable Object
// (through its own methods and stores) rather than over HTTP, and readers of what the feed table
// holds. Also the injected clock.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import type { ClusterDO } from '../../durable-objects/cluster-do.js';
import type { FeedEvent } from '../../src/core/feed.js';
import { call, clusterStub } from './helpers.js';

const ADMIN = { kind: 'admin' } as const;

/** Moves the Durable Object's clock (every transaction and alarm reads it) by `ms` from real time. */
export async function shiftClock(cluster: string, ms: number): Promise<void> {
  await runInDurableObject(clusterStub(cluster), (instance: ClusterDO) => {
    instance.clock = () => Date.now() + ms;
  });
}

/**
 * `n` dual-stack endpoints 1..n on `node` (already registered), each created by its own
 * transaction, with addresses in 10.<subnet>.0.0/16 and fd00:<subnet>::/32.
 */
export async function seedEndpoints(cluster: string, node: string, n: number, opts: { labelsOf?: (i: number) => string[]; subnet?: number } = {}): Promise<void> {
  const subnet = opts.subnet ?? 0;
  await runInDurableObject(clusterStub(cluster), async (instance: ClusterDO) => {
    for (let i = 1; i <= n; i++) {
      const addressing = { ipv4: `10.${subnet}.${i >> 8}.${i & 255}`, ipv6: `fd00:${subnet.toString(16)}:ab:cd:ef:1234:${i.toString(16)}:1` };
      const r = await instance.createEndpoint(ADMIN, cluster, node, String(i), { labels: opts.labelsOf?.(i) ?? ['k8s:app=seed'], 'k8s-namespace': 'default', addressing });
      if (!r.ok) throw new Error(`endpoint ${i}: ${JSON.stringify(r.error)}`);
    }
  });
}

/** A label set of about `bytes` bytes, distinct for each `i`: 63-character values under keys l0, l1, … */
export function bigLabelSet(i: number, bytes: number): string[] {
  const value = `v${i}`.padEnd(63, 'x');
  return Array.from({ length: Math.ceil(bytes / 80) }, (_, j) => `k8s:l${j}=${value}`);
}

/** `n` unreferenced identities from 256 up, released at `releasedAt` (GC candidates). */
export async function seedReleasedIdentities(cluster: string, n: number, releasedAt: number): Promise<void> {
  await runInDurableObject(clusterStub(cluster), (_i, state) => {
    state.storage.sql.exec(
      `WITH RECURSIVE n(x) AS (SELECT 256 UNION ALL SELECT x + 1 FROM n WHERE x < ?1)
       INSERT INTO identities (id, sha256, labels, namespace, refcount, created_at, released_at)
       SELECT x, 'gc-' || x, '["k8s:app=gc-' || x || '"]', NULL, 0, ?2, ?2 FROM n`,
      255 + n, releasedAt,
    );
  });
}

export interface StoredBatch {
  revision: number;
  bytes: number;
  events: FeedEvent[];
}

/** Every feed row after `since`, with its size in bytes of JSON, straight from the table. */
export async function feedRows(cluster: string, since: number): Promise<StoredBatch[]> {
  return runInDurableObject(clusterStub(cluster), (_i, state) =>
    state.storage.sql
      .exec<{ revision: number; events: string }>('SELECT revision, events FROM feed WHERE revision > ? ORDER BY revision', since)
      .toArray()
      .map((r) => ({ revision: r.revision, bytes: r.events.length, events: JSON.parse(r.events) as FeedEvent[] })),
  );
}

/** Runs SQL inside the object (fault injection: a trigger that makes one row's deletion fail). */
export async function execSql(cluster: string, query: string): Promise<void> {
  await runInDurableObject(clusterStub(cluster), (_i, state) => {
    state.storage.sql.exec(query);
  });
}

export async function clusterRevision(base: string): Promise<number> {
  return (await call('GET', `${base}/nodes?limit=1`)).body.revision as number;
}

/**
 * Reads the cluster revision over HTTP again and again while `work` runs; returns the
 * revisions seen, which show whether requests were answered between its batches.
 */
export async function revisionsSeenDuring(base: string, work: Promise<unknown>): Promise<number[]> {
  let done = false;
  const finished = work.finally(() => (done = true));
  const seen: number[] = [];
  while (!done) seen.push(await clusterRevision(base));
  await finished;
  return seen;
}

/**
 * Runs the alarm (which re-arms itself while work remains) until `done` holds. A scheduled alarm
 * runs whenever asked, due or not: `done` decides, not the absence of an alarm.
 */
export async function runAlarmsUntil(cluster: string, done: () => Promise<boolean>, maxRuns = 100): Promise<number> {
  for (let runs = 1; runs <= maxRuns; runs++) {
    await runDurableObjectAlarm(clusterStub(cluster));
    if (await done()) return runs;
  }
  throw new Error(`work not done after ${maxRuns} alarm runs`);
}
