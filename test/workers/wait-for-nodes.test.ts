// `wait-for-nodes`: a create answers once every live node has applied the revision holding the new
// ipcache entry (a WebSocket ack, a long-poll's `since`, a heartbeat's `applied-revision`), or at
// the timeout with the nodes that had not. Live: an open feed socket, a long-poll in flight, or
// heard within `node-liveness-seconds`.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, dumpState, freshCluster, useManualClock } from './helpers.js';

async function clusterWithTokens(nodes: string[]) {
  const cluster = await freshCluster('wfn');
  const base = `/v1/clusters/${cluster}`;
  const tokens: Record<string, string> = {};
  for (const [i, n] of nodes.entries()) {
    const r = await call('PUT', `${base}/nodes/${n}`, { body: { ipv4: `192.168.0.${i + 1}` } });
    expect(r.status).toBe(201);
    tokens[n] = r.body.token as string;
  }
  let pod = 0;
  const create = (node: string, extra: Record<string, unknown> = {}) => {
    pod += 1;
    return call('PUT', `${base}/nodes/${node}/endpoints/cilium-local:0`, {
      body: { labels: [`k8s:app=a${pod}`], addressing: { ipv4: `10.0.0.${pod}` }, 'k8s-namespace': 'default', 'sync-build-endpoint': true, ...extra },
    });
  };
  const config = (patch: Record<string, unknown>) => call('PATCH', `${base}/config`, { body: patch });
  return { cluster, base, tokens, create, config };
}

/** A node's feed socket that acks only when told to. */
async function nodeSocket(base: string, token: string, since: number) {
  const res = await SELF.fetch(`http://idplane.test${base}/feed/ws?since=${since}`, { headers: { upgrade: 'websocket', authorization: `Bearer ${token}` } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const revisions: number[] = [];
  /** Per revision received: whether its message asked for an ack at once. */
  const ackNow = new Map<number, boolean>();
  ws.accept();
  ws.addEventListener('message', (ev) => {
    const m = JSON.parse(ev.data as string) as { batches?: { revision: number }[]; 'ack-now'?: boolean };
    for (const b of m.batches ?? []) {
      revisions.push(b.revision);
      ackNow.set(b.revision, m['ack-now'] === true);
    }
  });
  return {
    revisions,
    ackNow,
    ack: (revision: number) => ws.send(JSON.stringify({ ack: revision })),
    close: () => ws.close(),
  };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

const revisionOf = async (base: string) => (await call('GET', `${base}/ipcache?limit=1`)).body.revision as number;

describe('wait-for-nodes', () => {
  it('waits for a connected node to ack the revision holding the new entry', async () => {
    const c = await clusterWithTokens(['node-1', 'node-2']);
    const socket = await nodeSocket(c.base, c.tokens['node-2']!, await revisionOf(c.base));
    let answered = false;
    const pending = c.create('node-1', { 'wait-for-nodes': true }).then((r) => ((answered = true), r));
    await until(() => socket.revisions.length > 0);
    const revision = socket.revisions[socket.revisions.length - 1]!;
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    socket.ack(revision);
    const r = await pending;
    expect(r.status).toBe(201);
    expect(r.body.revision).toBe(revision);
    expect(r.body['lagging-nodes']).toEqual([]);
    socket.close();
  });

  it("asks the nodes' sockets to ack at once while a create waits for them, and only then", async () => {
    const c = await clusterWithTokens(['node-1', 'node-2']);
    const socket = await nodeSocket(c.base, c.tokens['node-2']!, await revisionOf(c.base));
    const plain = await c.create('node-1');
    await until(() => socket.ackNow.has(plain.body.revision));
    socket.ack(plain.body.revision);
    const pending = c.create('node-1', { 'wait-for-nodes': true });
    await until(() => socket.revisions.length > 1);
    const waited = socket.revisions[socket.revisions.length - 1]!;
    socket.ack(waited);
    expect((await pending).body['lagging-nodes']).toEqual([]);
    const after = await c.create('node-1');
    await until(() => socket.ackNow.has(after.body.revision));
    expect([plain.body.revision, waited, after.body.revision].map((r) => socket.ackNow.get(r))).toEqual([false, true, false]);
    socket.close();
  });

  it('answers at the timeout with the nodes that did not ack, and the endpoint exists', async () => {
    const c = await clusterWithTokens(['node-1', 'node-2', 'node-3']);
    expect((await c.config({ 'wait-for-nodes-timeout': 0.2 })).status).toBe(200);
    const since = await revisionOf(c.base);
    const silent = await nodeSocket(c.base, c.tokens['node-3']!, since);
    const prompt = await nodeSocket(c.base, c.tokens['node-2']!, since);
    const pending = c.create('node-1', { 'wait-for-nodes': true });
    await until(() => prompt.revisions.length > 0);
    prompt.ack(prompt.revisions[prompt.revisions.length - 1]!);
    const r = await pending;
    expect(r.status).toBe(201);
    expect(r.body['lagging-nodes']).toEqual(['node-3']);
    expect((await call('GET', `${c.base}/nodes/node-1/endpoints/${r.body.id}`)).status).toBe(200);
    silent.close();
    prompt.close();
  });

  it('does not wait without wait-for-nodes, even for a node that never acks', async () => {
    const c = await clusterWithTokens(['node-1', 'node-2']);
    expect((await c.config({ 'wait-for-nodes-timeout': 30 })).status).toBe(200);
    const silent = await nodeSocket(c.base, c.tokens['node-2']!, await revisionOf(c.base));
    const r = await c.create('node-1');
    expect(r.status).toBe(201);
    expect(r.body['lagging-nodes']).toBeUndefined();
    silent.close();
  });

  it("a heartbeat's applied-revision acknowledges; a node not heard within the liveness window is not waited for", async () => {
    const c = await clusterWithTokens(['node-1', 'node-2']);
    const clock = await useManualClock(c.cluster);
    expect((await c.config({ 'wait-for-nodes-timeout': 30, 'node-liveness-seconds': 10 })).status).toBe(200);
    const beat = (revision: number) =>
      call('POST', `${c.base}/nodes/node-2/heartbeat`, { body: { 'applied-revision': revision }, token: c.tokens['node-2']! });
    expect((await beat(await revisionOf(c.base))).status).toBe(200);
    let answered = false;
    const pending = c.create('node-1', { 'wait-for-nodes': true }).then((r) => ((answered = true), r));
    // The create has committed once the ipcache shows its entry; then node-2 reports it applied.
    for (let i = 0; i < 200 && (await call('GET', `${c.base}/ipcache`)).body.entries.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const revision = await revisionOf(c.base);
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    expect((await beat(revision)).status).toBe(200);
    const r = await pending;
    expect(r.body.revision).toBe(revision);
    expect(r.body['lagging-nodes']).toEqual([]);

    // Eleven seconds later node-2 is no longer live: a create answers at once, lagging nobody.
    clock.advance(11_000);
    const late = await c.create('node-1', { 'wait-for-nodes': true });
    expect(late.status).toBe(201);
    expect(late.body['lagging-nodes']).toEqual([]);
  });

  it("a long-poll in flight keeps its node live; its next poll's since acknowledges", async () => {
    const c = await clusterWithTokens(['node-1', 'node-2']);
    const since = await revisionOf(c.base);
    const poll = (s: number, wait: number) => call('GET', `${c.base}/feed?since=${s}&wait=${wait}`, { token: c.tokens['node-2']! });
    const first = poll(since, 20);
    await new Promise((r) => setTimeout(r, 50));
    let answered = false;
    const pending = c.create('node-1', { 'wait-for-nodes': true }).then((r) => ((answered = true), r));
    const page = await first;
    const revision = page.body.revision as number;
    expect(revision).toBeGreaterThan(since);
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    await poll(revision, 0);
    const r = await pending;
    expect(r.body['lagging-nodes']).toEqual([]);
  });

  it('a node being deleted is not waited for', async () => {
    const c = await clusterWithTokens(['node-1', 'node-2']);
    expect((await c.config({ 'wait-for-nodes-timeout': 30 })).status).toBe(200);
    const silent = await nodeSocket(c.base, c.tokens['node-2']!, await revisionOf(c.base));
    expect((await call('DELETE', `${c.base}/nodes/node-2`)).status).toBe(200);
    const r = await c.create('node-1', { 'wait-for-nodes': true });
    expect(r.body['lagging-nodes']).toEqual([]);
    silent.close();
  });

  it.each([
    ['a non-boolean wait-for-nodes', (c: Awaited<ReturnType<typeof clusterWithTokens>>) => c.create('node-1', { 'wait-for-nodes': 'yes' })],
    ['a negative timeout', (c: Awaited<ReturnType<typeof clusterWithTokens>>) => c.config({ 'wait-for-nodes-timeout': -1 })],
    ['a timeout over a minute', (c: Awaited<ReturnType<typeof clusterWithTokens>>) => c.config({ 'wait-for-nodes-timeout': 61 })],
    ['a zero liveness window', (c: Awaited<ReturnType<typeof clusterWithTokens>>) => c.config({ 'node-liveness-seconds': 0 })],
  ])('%s is a 400 that changes nothing', async (_name, send) => {
    const c = await clusterWithTokens(['node-1']);
    const before = await dumpState(c.cluster);
    const r = await send(c);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid-request');
    expect(await dumpState(c.cluster)).toEqual(before);
  });
});
