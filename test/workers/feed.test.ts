// The change feed: complete and gap-free under concurrent mutations, long-poll wake-up, resync
// past the horizon, and WebSocket fan-out to many subscribers.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, call, clusterWithNodes } from './helpers.js';

interface Batch {
  revision: number;
  events: { type: string; [k: string]: unknown }[];
}

async function readAll(base: string, since = 0): Promise<{ revision: number; batches: Batch[] }> {
  const batches: Batch[] = [];
  let at = since;
  let revision = 0;
  for (;;) {
    const page = await call('GET', `${base}/feed?since=${at}`);
    expect(page.status).toBe(200);
    expect(page.body.resync).toBe(false);
    revision = page.body.revision;
    if (page.body.batches.length === 0) return { revision, batches };
    batches.push(...page.body.batches);
    at = batches[batches.length - 1]!.revision;
  }
}

/** Replays ipcache events into a map prefix → identity. */
function replayIpcache(batches: Batch[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const b of batches) {
    for (const e of b.events) {
      if (e.type === 'ipcache-upsert') m.set(e.prefix as string, e.identity as number);
      if (e.type === 'ipcache-delete') m.delete(e.prefix as string);
    }
  }
  return m;
}

describe('change feed', () => {
  it('is gap-free and complete under concurrent mutations', async () => {
    const c = await clusterWithNodes(['node-1', 'node-2']);
    const creates = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        c.createEndpoint(i % 2 ? 'node-1' : 'node-2', 'cilium-local:0', { labels: [`k8s:app=a${i % 7}`], addressing: { ipv4: `10.20.0.${i + 1}` } }),
      ),
    );
    expect(creates.every((r) => r.status === 201)).toBe(true);
    await Promise.all([
      ...creates.slice(0, 40).map((r) => c.deleteEndpoint(r.body.node, String(r.body.id))),
      ...creates.slice(40, 60).map((r) => call('PATCH', `${c.base}/nodes/${r.body.node}/endpoints/${r.body.id}/labels`, { body: { add: ['k8s:tier=x'] } })),
    ]);
    const { revision, batches } = await readAll(c.base);
    expect(batches.map((b) => b.revision)).toEqual(Array.from({ length: revision }, (_, i) => i + 1));
    expect(batches.every((b) => b.events.length > 0)).toBe(true);
    const ipcache = await call('GET', `${c.base}/ipcache`);
    expect(ipcache.body.revision).toBe(revision);
    const want = new Map<string, number>(ipcache.body.entries.map((e: { prefix: string; identity: number }) => [e.prefix, e.identity]));
    expect(replayIpcache(batches)).toEqual(want);
    expect(want.size).toBe(80);
    const identityAdds = batches.flatMap((b) => b.events.filter((e) => e.type === 'identity-add').map((e) => e.id));
    expect(new Set(identityAdds).size).toBe(identityAdds.length);
  });

  it('wakes a long-poll as soon as a mutation commits', async () => {
    const c = await clusterWithNodes(['node-1']);
    const { revision } = await readAll(c.base);
    const started = Date.now();
    const poll = call('GET', `${c.base}/feed?since=${revision}&wait=20`);
    await new Promise((r) => setTimeout(r, 200));
    const created = await c.createEndpoint('node-1', '1', { labels: ['k8s:app=wake'], addressing: { ipv4: '10.21.0.1' } });
    const page = await poll;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(page.body.batches).toHaveLength(1);
    expect(page.body.batches[0].revision).toBe(revision + 1);
    expect(page.body.batches[0].events).toContainEqual({
      type: 'ipcache-upsert', prefix: '10.21.0.1/32', identity: created.body.identity.id, 'host-ip': '192.168.0.1', node: 'node-1', endpoint: 1,
    });
    const empty = await call('GET', `${c.base}/feed?since=${revision + 1}&wait=0.2`);
    expect(empty.body).toEqual({ resync: false, revision: revision + 1, batches: [] });
  });

  it('answers resync for a revision past the compaction horizon', async () => {
    const c = await clusterWithNodes(['node-1']);
    await call('PATCH', `${c.base}/config`, { body: { 'feed-horizon-revisions': 10 } });
    for (let i = 1; i <= 70; i++) await c.createEndpoint('node-1', String(i), { labels: ['k8s:app=h'] });
    const { revision } = await readAll(c.base, 65);
    expect(await call('GET', `${c.base}/feed?since=0`)).toEqual({ status: 200, body: { resync: true, revision } });
    expect((await call('GET', `${c.base}/feed?since=${revision + 5}`)).body).toEqual({ resync: true, revision });
    const recent = await call('GET', `${c.base}/feed?since=${revision - 3}`);
    expect(recent.body.batches.map((b: Batch) => b.revision)).toEqual([revision - 2, revision - 1, revision]);
  });

  it('pushes every batch, in order, to many WebSocket subscribers, which ack', async () => {
    const c = await clusterWithNodes(['node-1']);
    const { revision: start } = await readAll(c.base);
    const sockets = await Promise.all(
      Array.from({ length: 25 }, async () => {
        const res = await SELF.fetch(`http://idplane.test${c.base}/feed/ws?since=${start}`, {
          headers: { upgrade: 'websocket', authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        expect(res.status).toBe(101);
        const ws = res.webSocket!;
        const got: number[] = [];
        ws.accept();
        ws.addEventListener('message', (ev) => {
          const msg = JSON.parse(ev.data as string) as { batches: Batch[] };
          for (const b of msg.batches) got.push(b.revision);
          ws.send(JSON.stringify({ ack: got[got.length - 1] }));
        });
        return { ws, got };
      }),
    );
    for (let i = 1; i <= 5; i++) await c.createEndpoint('node-1', String(i), { labels: ['k8s:app=ws'], addressing: { ipv4: `10.22.0.${i}` } });
    const want = [1, 2, 3, 4, 5].map((i) => start + i);
    for (let t = 0; t < 50 && sockets.some((s) => s.got.length < want.length); t++) await new Promise((r) => setTimeout(r, 100));
    for (const s of sockets) {
      expect(s.got).toEqual(want);
      s.ws.close();
    }
  });

  it('cuts off a subscriber that stops acknowledging, with a resync', async () => {
    const c = await clusterWithNodes(['node-1']);
    await call('PATCH', `${c.base}/config`, { body: { 'feed-horizon-revisions': 10 } });
    const { revision: start } = await readAll(c.base);
    const res = await SELF.fetch(`http://idplane.test${c.base}/feed/ws?since=${start}`, { headers: { upgrade: 'websocket', authorization: `Bearer ${ADMIN_TOKEN}` } });
    const ws = res.webSocket!;
    const messages: { resync: boolean; revision: number }[] = [];
    let closedWith: number | undefined;
    ws.accept();
    ws.addEventListener('message', (ev) => {
      messages.push(JSON.parse(ev.data as string));
    });
    ws.addEventListener('close', (ev) => {
      closedWith = ev.code;
    });
    for (let i = 1; i <= 12; i++) await c.createEndpoint('node-1', String(i), { labels: ['k8s:app=slow'] });
    for (let t = 0; t < 30 && closedWith === undefined; t++) await new Promise((r) => setTimeout(r, 100));
    expect(messages.filter((m) => !m.resync)).toHaveLength(10);
    expect(messages[messages.length - 1]).toEqual({ resync: true, revision: start + 11 });
    expect(closedWith).toBe(4000);
    // Commits after the cut-off still succeed, whatever state that socket is in.
    expect((await c.createEndpoint('node-1', '99', { labels: ['k8s:app=slow'] })).status).toBe(201);
  });

  it("closes a node's feed socket when its token is rotated", async () => {
    const c = await clusterWithNodes([]);
    const reg = await call('PUT', `${c.base}/nodes/node-t`, { body: { ipv4: '192.168.60.1' } });
    const res = await SELF.fetch(`http://idplane.test${c.base}/feed/ws?since=0`, { headers: { upgrade: 'websocket', authorization: `Bearer ${reg.body.token}` } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    let closedWith: number | undefined;
    ws.accept();
    ws.addEventListener('close', (ev) => {
      closedWith = ev.code;
    });
    await call('PUT', `${c.base}/nodes/node-t`, { body: { ipv4: '192.168.60.1', 'rotate-token': true } });
    for (let t = 0; t < 30 && closedWith === undefined; t++) await new Promise((r) => setTimeout(r, 100));
    expect(closedWith).toBe(4001);
  });

  it('replays the backlog to a WebSocket that connects behind', async () => {
    const c = await clusterWithNodes(['node-1']);
    await c.createEndpoint('node-1', '1', { labels: ['k8s:app=late'] });
    const res = await SELF.fetch(`http://idplane.test${c.base}/feed/ws?since=0`, { headers: { upgrade: 'websocket', authorization: `Bearer ${ADMIN_TOKEN}` } });
    const ws = res.webSocket!;
    const got: number[] = [];
    ws.accept();
    ws.addEventListener('message', (ev) => {
      got.push(...(JSON.parse(ev.data as string) as { batches: Batch[] }).batches.map((b) => b.revision));
    });
    for (let t = 0; t < 30 && got.length < 2; t++) await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual([1, 2]);
    ws.close();
  });
});
