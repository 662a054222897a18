// A WebSocket consumer is sent at most MAX_UNACKED_BYTES it has not acknowledged — the catch-up
// from since=0 included, which goes out in pieces as acks arrive — and one that stops reading is
// told to resync and disconnected once the cluster moves on without it.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { MAX_UNACKED_BYTES } from '../../durable-objects/feed-sockets.js';
import { ADMIN_TOKEN, call, clusterWithNodes } from './helpers.js';
import { bigLabelSet, clusterRevision, seedEndpoints } from './large-state.js';

interface Message {
  resync: boolean;
  revision: number;
  batches?: { revision: number }[];
}

/** A feed socket that records what it receives and acknowledges only when told to. */
async function subscribe(base: string, since: number) {
  const res = await SELF.fetch(`http://idplane.test${base}/feed/ws?since=${since}`, { headers: { upgrade: 'websocket', authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const got = { messages: [] as Message[], bytes: 0, closedWith: undefined as number | undefined };
  ws.accept();
  ws.addEventListener('message', (ev) => {
    got.bytes += (ev.data as string).length;
    got.messages.push(JSON.parse(ev.data as string) as Message);
  });
  ws.addEventListener('close', (ev) => {
      got.closedWith = ev.code;
    });
  const revisions = () => got.messages.flatMap((m) => (m.batches ?? []).map((b) => b.revision));
  return {
    got,
    revisions,
    ack: () => ws.send(JSON.stringify({ ack: revisions()[revisions().length - 1] })),
    close: () => ws.close(),
  };
}

/** Waits until nothing more arrives for a while (delivery has no other signal). */
async function settle(got: { messages: unknown[] }): Promise<void> {
  for (let quiet = 0, seen = -1; quiet < 3; ) {
    await new Promise((r) => setTimeout(r, 100));
    quiet = got.messages.length === seen ? quiet + 1 : 0;
    seen = got.messages.length;
  }
}

/** About 20 KiB of events per revision. */
const big = (i: number) => ({ labelsOf: (j: number) => bigLabelSet(i * 1000 + j, 20_000) });

interface Row {
  name: string;
  /** Builds the backlog or the live traffic; returns the revision to subscribe from. */
  start: (cluster: string, base: string) => Promise<number>;
  /** Commits after subscribing (live traffic). */
  live: (cluster: string) => Promise<void>;
}

const rows: Row[] = [
  {
    name: 'catch-up from since=0 over a 2.6 MB backlog',
    start: async (cluster) => {
      await seedEndpoints(cluster, 'node-1', 130, big(1));
      return 0;
    },
    live: async () => {},
  },
  {
    name: 'live batches, 2.6 MB of them, to a socket at the head',
    start: async (_cluster, base) => clusterRevision(base),
    live: (cluster) => seedEndpoints(cluster, 'node-1', 130, big(2)),
  },
];

describe('feed flow control', () => {
  it.each(rows)('$name: at most the window unacknowledged, the rest as acks arrive', async ({ start, live }) => {
    const c = await clusterWithNodes(['node-1']);
    const since = await start(c.cluster, c.base);
    const socket = await subscribe(c.base, since);
    await live(c.cluster);
    const head = await clusterRevision(c.base);

    await settle(socket.got);
    expect(socket.got.bytes).toBeLessThanOrEqual(MAX_UNACKED_BYTES);
    expect(socket.revisions().length).toBeLessThan(head - since);

    for (let rounds = 0; socket.revisions().length < head - since && rounds < 50; rounds++) {
      socket.ack();
      await settle(socket.got);
    }
    expect(socket.revisions()).toEqual(Array.from({ length: head - since }, (_, i) => since + i + 1));
    expect(socket.got.messages.every((m) => !m.resync)).toBe(true);
    socket.close();
  }, 120_000);

  it.each(rows)('$name, never acknowledged: resync and close once the cluster moves on', async ({ start, live }) => {
    const c = await clusterWithNodes(['node-1']);
    const since = await start(c.cluster, c.base);
    const socket = await subscribe(c.base, since);
    await live(c.cluster);
    await settle(socket.got);
    expect(socket.got.bytes).toBeLessThanOrEqual(MAX_UNACKED_BYTES);

    expect((await call('PATCH', `${c.base}/config`, { body: { 'feed-horizon-revisions': 5 } })).status).toBe(200);
    for (let i = 1; i <= 6; i++) await c.createEndpoint('node-1', String(1000 + i), { labels: ['k8s:app=more'] });
    await settle(socket.got);
    // Cut off by whichever comes first: the stall bound, or the feed compacted past it.
    const last = socket.got.messages[socket.got.messages.length - 1]!;
    expect(last.resync).toBe(true);
    expect(last.revision).toBeLessThanOrEqual(await clusterRevision(c.base));
    expect(socket.got.closedWith).toBe(4000);
  }, 120_000);
});
