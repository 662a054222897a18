// What each reader of the change feed receives: targeted events only on their nodes (long-poll,
// WebSocket catch-up and live fan-out; admin sees all), an empty batch as progress marker when a
// node's share of a revision is empty, and revisions over 1 MiB in ordered chunks of ≤ 1 MiB.
// Events are committed through the object's own transaction (what the policy engine emits).
import { runInDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ClusterDO } from '../../durable-objects/cluster-do.js';
import { MAX_FEED_BATCH_BYTES, type ClusterState } from '../../durable-objects/cluster-state.js';
import { MAX_UNACKED_BYTES } from '../../durable-objects/feed-sockets.js';
import type { FeedBatch, FeedEvent } from '../../src/core/feed.js';
import { ADMIN_TOKEN, call, clusterStub, freshCluster } from './helpers.js';
import { clusterRevision } from './large-state.js';

type Emit = { event: FeedEvent; nodes?: string[] };

/** Commits `emits` as one revision in one transaction of the object, publishing it as every mutation does. */
async function commit(cluster: string, emits: Emit[]): Promise<number> {
  return runInDurableObject(clusterStub(cluster), (instance: ClusterDO) => {
    const inner = instance as unknown as { transact<T>(op: (now: number) => T): T; state: ClusterState };
    return inner.transact((now) => {
      for (const e of emits) inner.state.emit(e.event, e.nodes === undefined ? {} : { nodes: e.nodes });
      return inner.state.bumpRevision(now);
    });
  });
}

/** A cluster with nodes node-1 and node-2; their tokens. */
async function twoNodes(): Promise<{ cluster: string; base: string; tokens: Record<string, string> }> {
  const cluster = await freshCluster('feed-target');
  const base = `/v1/clusters/${cluster}`;
  const tokens: Record<string, string> = { admin: ADMIN_TOKEN };
  for (const [i, node] of ['node-1', 'node-2'].entries()) {
    const r = await call('PUT', `${base}/nodes/${node}`, { body: { ipv4: `192.168.9.${i + 1}` } });
    expect(r.status).toBe(201);
    tokens[node] = r.body.token;
  }
  return { cluster, base, tokens };
}

/** Long-polls from `since` to the head, following chunk positions as an agent does. */
async function longPollAll(base: string, token: string, since: number): Promise<FeedBatch[]> {
  const batches: FeedBatch[] = [];
  let at = { revision: since, chunk: 0 };
  for (;;) {
    const page = await call('GET', `${base}/feed?since=${at.revision}&chunk=${at.chunk}`, { token });
    expect(page.status).toBe(200);
    expect(page.body.resync).toBe(false);
    const got = page.body.batches as FeedBatch[];
    if (got.length === 0) return batches;
    batches.push(...got);
    const last = got[got.length - 1]!;
    at = last.last === false ? { revision: last.revision - 1, chunk: last.chunk! + 1 } : { revision: last.revision, chunk: 0 };
  }
}

/** A feed socket that acknowledges each message with its position (chunks included), as the agent does. */
async function subscribe(base: string, token: string, since: number) {
  const res = await SELF.fetch(`http://idplane.test${base}/feed/ws?since=${since}`, { headers: { upgrade: 'websocket', authorization: `Bearer ${token}` } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const got = { batches: [] as FeedBatch[], sizes: [] as number[], maxUnacked: 0 };
  let unacked = 0;
  ws.accept();
  ws.addEventListener('message', (ev) => {
    const text = ev.data as string;
    got.sizes.push(text.length);
    unacked += text.length;
    got.maxUnacked = Math.max(got.maxUnacked, unacked);
    const batches = (JSON.parse(text) as { batches: FeedBatch[] }).batches;
    got.batches.push(...batches);
    const last = batches[batches.length - 1]!;
    // Acknowledged after a turn, so that the object may fill the window meanwhile.
    setTimeout(() => {
      unacked -= text.length;
      ws.send(JSON.stringify(last.last === false ? { ack: last.revision - 1, chunk: last.chunk! + 1 } : { ack: last.revision }));
    }, 20);
  });
  return { got, close: () => ws.close() };
}

async function settle(got: { batches: unknown[] }): Promise<void> {
  for (let quiet = 0, seen = -1; quiet < 3; ) {
    await new Promise((r) => setTimeout(r, 100));
    quiet = got.batches.length === seen ? quiet + 1 : 0;
    seen = got.batches.length;
  }
}

const prefix: FeedEvent = { type: 'prefix-upsert', prefix: '203.0.113.0/24', identity: 16777217 };
const policyOf = (identity: number, entries = 1): FeedEvent => ({
  type: 'policy-upsert', identity, 'policy-revision': 2, 'ingress-enforced': true, 'egress-enforced': false,
  entries: Array.from({ length: entries }, (_, i) => ({ key: i.toString(16).padStart(24, '0'), value: identity.toString(16).padStart(16, '0') })),
});
const upsert1 = policyOf(1001);
const upsert2 = policyOf(1002);
const delete1: FeedEvent = { type: 'policy-delete', identity: 1001 };

/** Two revisions: a shared event and one for each node; then an event for node-1 only. */
const targetedRevisions: Emit[][] = [
  [{ event: prefix }, { event: upsert1, nodes: ['node-1'] }, { event: upsert2, nodes: ['node-2'] }],
  [{ event: delete1, nodes: ['node-1'] }],
];
const wanted: Record<string, FeedEvent[][]> = {
  'node-1': [[prefix, upsert1], [delete1]],
  'node-2': [[prefix, upsert2], []], // the second: a progress marker
  admin: [[prefix, upsert1, upsert2], [delete1]],
};

type Read = (base: string, token: string, since: number, act: () => Promise<void>) => Promise<FeedBatch[]>;
const readers: { name: string; read: Read }[] = [
  { name: 'long-poll', read: async (base, token, since, act) => (await act(), longPollAll(base, token, since)) },
  {
    name: 'WebSocket catch-up',
    read: async (base, token, since, act) => {
      await act();
      const s = await subscribe(base, token, since);
      await settle(s.got);
      s.close();
      return s.got.batches;
    },
  },
  {
    name: 'WebSocket live',
    read: async (base, token, since, act) => {
      const s = await subscribe(base, token, since);
      await act();
      await settle(s.got);
      s.close();
      return s.got.batches;
    },
  },
];

describe('targeted feed events', () => {
  it.each(readers.flatMap((r) => (['node-1', 'node-2', 'admin'] as const).map((who) => ({ ...r, who }))))(
    '$name: $who receives its events, and an empty batch when none',
    async ({ read, who }) => {
      const { cluster, base, tokens } = await twoNodes();
      const since = await clusterRevision(base);
      const batches = await read(base, tokens[who]!, since, async () => {
        for (const r of targetedRevisions) await commit(cluster, r);
      });
      expect(batches.map((b) => b.revision)).toEqual([since + 1, since + 2]);
      expect(batches.map((b) => b.events)).toEqual(wanted[who]);
      expect(batches.every((b) => b.chunk === undefined && b.last === undefined)).toBe(true);
    },
  );
});

/** 24 policy upserts of about 100 KB each, alternately for node-1 and node-2, then a shared event. */
const bigRevision: Emit[] = [
  ...Array.from({ length: 24 }, (_, i) => ({ event: policyOf(2000 + i, 2000), nodes: [i % 2 === 0 ? 'node-1' : 'node-2'] })),
  { event: prefix },
];
const eventsOf = (who: string) => bigRevision.filter((e) => who === 'admin' || e.nodes === undefined || e.nodes.includes(who)).map((e) => e.event);

/** The batches of one revision: chunks 0.. in order (indices may skip for a node), `last: false` on all but the last. */
function expectOrderedChunks(batches: FeedBatch[], revision: number, who: string): void {
  expect(batches.every((b) => b.revision === revision)).toBe(true);
  const indices = batches.map((b) => b.chunk!);
  expect(indices).toEqual([...indices].sort((a, b) => a - b));
  if (who === 'admin') expect(indices).toEqual(indices.map((_, i) => i));
  expect(batches.map((b) => b.last)).toEqual(batches.map((_, i) => (i < batches.length - 1 ? false : undefined)));
  expect(batches.flatMap((b) => b.events)).toEqual(eventsOf(who));
}

describe('chunked revisions', () => {
  it('a revision over 1 MiB is stored in rows of ≤ 1 MiB, chunks 0..n-1, the last one marked', async () => {
    const { cluster, base } = await twoNodes();
    const revision = await commit(cluster, bigRevision);
    expect(await clusterRevision(base)).toBe(revision);
    const rows = await runInDurableObject(clusterStub(cluster), (_i, state) =>
      state.storage.sql.exec<{ chunk: number; last: number; bytes: number }>(
        'SELECT chunk, last, length(events) + coalesce(length(targets), 0) AS bytes FROM feed WHERE revision = ? ORDER BY chunk', revision,
      ).toArray(),
    );
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows.map((r) => r.chunk)).toEqual(rows.map((_, i) => i));
    expect(rows.map((r) => r.last)).toEqual(rows.map((_, i) => (i === rows.length - 1 ? 1 : 0)));
    for (const r of rows) expect(r.bytes).toBeLessThanOrEqual(MAX_FEED_BATCH_BYTES);
  });

  it.each(['admin', 'node-1', 'node-2'])('long-poll: %s reads the chunks in order, resuming at a chunk position', async (who) => {
    const { cluster, base, tokens } = await twoNodes();
    const since = await clusterRevision(base);
    const revision = await commit(cluster, bigRevision);
    const batches = await longPollAll(base, tokens[who]!, since);
    expectOrderedChunks(batches, revision, who);
    // From after the first chunk it holds, a reader gets exactly the rest.
    const first = batches[0]!;
    const rest = await call('GET', `${base}/feed?since=${since}&chunk=${first.chunk! + 1}`, { token: tokens[who]! });
    expect(rest.body.batches[0].chunk).toBe(batches[1]!.chunk);
  });

  it.each(['admin', 'node-1', 'node-2'])('WebSocket: %s gets the chunks in order, each message ≤ 1 MiB, within the window', async (who) => {
    const { cluster, base, tokens } = await twoNodes();
    const since = await clusterRevision(base);
    const live = await subscribe(base, tokens[who]!, since);
    const revision = await commit(cluster, bigRevision);
    const catchUp = await subscribe(base, tokens[who]!, since);
    await settle(live.got);
    await settle(catchUp.got);
    for (const s of [live, catchUp]) {
      expectOrderedChunks(s.got.batches, revision, who);
      for (const size of s.got.sizes) expect(size).toBeLessThanOrEqual(MAX_FEED_BATCH_BYTES);
      expect(s.got.maxUnacked).toBeLessThanOrEqual(MAX_UNACKED_BYTES);
      s.close();
    }
  });

  it('resync: a reader behind a compacted chunked revision is told to resync; one after it reads on', async () => {
    const { cluster, base, tokens } = await twoNodes();
    expect((await call('PATCH', `${base}/config`, { body: { 'feed-horizon-revisions': 1 } })).status).toBe(200);
    const before = await clusterRevision(base);
    const big = await commit(cluster, bigRevision);
    // Compaction runs on every 64th revision.
    while ((await clusterRevision(base)) % 64 !== 0) await commit(cluster, [{ event: prefix }]);
    const head = await clusterRevision(base);
    for (const token of [tokens['node-1']!, ADMIN_TOKEN]) {
      expect((await call('GET', `${base}/feed?since=${before}`, { token })).body).toEqual({ resync: true, revision: head });
      expect((await call('GET', `${base}/feed?since=${big}&chunk=1`, { token })).body).toEqual({ resync: true, revision: head });
      const last = await call('GET', `${base}/feed?since=${head - 1}`, { token });
      expect(last.body.batches.map((b: FeedBatch) => b.revision)).toEqual([head]);
    }
  });
});

describe('live fan-out', () => {
  // Sockets are sent a commit after the committing call returns, several commits at once when
  // they came in one turn (and at once past a bound): each reader still gets every revision once,
  // in order, with only its own targeted events.
  it.each([3, 300])('%i revisions committed in one turn reach each socket once, in order, filtered per node', async (n) => {
    const { cluster, base, tokens } = await twoNodes();
    const third = await call('PUT', `${base}/nodes/node-3`, { body: { ipv4: '192.168.9.3' } });
    expect(third.status).toBe(201);
    tokens['node-3'] = third.body.token;
    const since = await clusterRevision(base);
    const readers = Object.fromEntries(await Promise.all(Object.entries(tokens).map(async ([who, token]) => [who, await subscribe(base, token, since)] as const)));
    const revisions = Array.from({ length: n }, (_, i): Emit[] => [{ event: { ...prefix, identity: 16777217 + i } }, { event: policyOf(2000 + i), nodes: ['node-1'] }]);
    await runInDurableObject(clusterStub(cluster), (instance: ClusterDO) => {
      const inner = instance as unknown as { transact<T>(op: (now: number) => T): T; state: ClusterState };
      for (const emits of revisions) {
        inner.transact((now) => {
          for (const e of emits) inner.state.emit(e.event, e.nodes === undefined ? {} : { nodes: e.nodes });
          return inner.state.bumpRevision(now);
        });
      }
    });
    for (const [who, s] of Object.entries(readers)) {
      await settle(s.got);
      s.close();
      expect(s.got.batches.map((b) => b.revision)).toEqual(revisions.map((_, i) => since + 1 + i));
      const mine = (emits: Emit[]) => emits.filter((e) => e.nodes === undefined || who === 'admin' || e.nodes.includes(who)).map((e) => e.event);
      expect(s.got.batches.map((b) => b.events)).toEqual(revisions.map(mine));
    }
  });
});
