// A node token allocates new identities at a bounded rate (a token bucket per node, set in
// /config): past it, 429 rate-limited with Retry-After and nothing stored. Existing identities,
// other nodes and the admin are not held back, and a rolled-back request keeps its token.
import { runInDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ClusterState } from '../../durable-objects/cluster-state.js';
import { acquireIdentity } from '../../durable-objects/ops/allocation.js';
import { buildLabelSet, parseLabel } from '../../src/core/labels.js';
import { call, clusterStub, clusterWithNodes, dumpState, useManualClock } from './helpers.js';

async function limitedCluster(rate: number, burst: number) {
  const c = await clusterWithNodes(['n1', 'n2']);
  const clock = await useManualClock(c.cluster);
  const tokens: Record<string, string> = {};
  for (const [i, n] of ['n1', 'n2'].entries()) {
    tokens[n] = (await call('PUT', `${c.base}/nodes/${n}`, { body: { ipv4: `192.168.0.${i + 1}`, 'rotate-token': true } })).body.token;
  }
  expect((await call('PATCH', `${c.base}/config`, { body: { 'node-identity-rate': rate, 'node-identity-burst': burst } })).status).toBe(200);
  let next = 0;
  /** Creates an endpoint on `node` with `app=<app>` (a new identity when the app is new), as the node or the admin. */
  const create = (node: string, app: string, asAdmin = false) =>
    call('PUT', `${c.base}/nodes/${node}/endpoints/cilium-local:0`, {
      body: { labels: [`k8s:app=${app}`], addressing: { ipv4: `10.50.0.${++next}` } },
      token: asAdmin ? undefined : tokens[node],
    });
  return { ...c, clock, tokens, create };
}

describe('per-node rate of new identities', () => {
  it('lets a node use its burst, then answers 429 with Retry-After and stores nothing', async () => {
    const c = await limitedCluster(0.5, 3);
    for (const app of ['a', 'b', 'c']) expect((await c.create('n1', app)).status).toBe(201);
    const before = await dumpState(c.cluster);
    const res = await call('PUT', `${c.base}/nodes/n1/endpoints/cilium-local:0`, { body: { labels: ['k8s:app=d'] }, token: c.tokens.n1 });
    expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 429, code: 'rate-limited' });
    expect(res.body.error.message).toMatch(/0\.5\/s \(burst 3\)/);
    expect(await dumpState(c.cluster)).toEqual(before);

    const raw = await fetchRaw(c.base, c.tokens.n1!);
    expect([raw.status, raw.headers.get('retry-after')]).toEqual([429, '2']);
  });

  it.each([
    { name: 'an existing identity', node: 'n1', app: 'a', admin: false },
    { name: "another node's first new identity", node: 'n2', app: 'z', admin: false },
    { name: "the admin's new identity on the limited node", node: 'n1', app: 'y', admin: true },
  ])('does not hold back $name', async ({ node, app, admin }) => {
    const c = await limitedCluster(0.5, 1);
    expect((await c.create('n1', 'a')).status).toBe(201);
    expect((await c.create('n1', 'b')).status).toBe(429);
    expect((await c.create(node, app, admin)).status).toBe(201);
  });

  it('refills at the configured rate on the injected clock', async () => {
    const c = await limitedCluster(0.5, 1);
    expect((await c.create('n1', 'a')).status).toBe(201);
    expect((await c.create('n1', 'b')).status).toBe(429);
    c.clock.advance(1999);
    expect((await c.create('n1', 'b')).status).toBe(429);
    c.clock.advance(1);
    expect((await c.create('n1', 'b')).status).toBe(201);
    expect((await c.create('n1', 'c')).status).toBe(429);
  });

  it('limits new identities from label PATCHes as from creates', async () => {
    const c = await limitedCluster(0.5, 2);
    const ep = await c.create('n1', 'a');
    const patch = (app: string) =>
      call('PATCH', `${c.base}/nodes/n1/endpoints/${ep.body.id}/labels`, { body: { add: [`k8s:app=${app}`] }, token: c.tokens.n1 });
    expect((await patch('b')).status).toBe(200);
    const before = await dumpState(c.cluster);
    const res = await patch('c');
    expect([res.status, res.body.error.code]).toEqual([429, 'rate-limited']);
    expect(await dumpState(c.cluster)).toEqual(before);
    expect((await patch('a')).status).toBe(200);
  });

  it('gives the token back when the transaction that took it rolls back', async () => {
    const c = await limitedCluster(0.5, 1);
    const labels = buildLabelSet([parseLabel('k8s:app=rolled-back')]);
    await runInDurableObject(clusterStub(c.cluster), (instance, storage) => {
      const state = (instance as unknown as { state: ClusterState }).state;
      // As the object runs every transaction: inside one policy-engine unit.
      expect(() =>
        state.inPolicyUnit(() =>
          storage.storage.transactionSync(() => {
            acquireIdentity(state, labels, c.clock.now(), 'n1');
            throw new Error('a later step fails');
          }),
        ),
      ).toThrow('a later step fails');
      state.forgetCaches();
    });
    expect((await c.create('n1', 'a')).status).toBe(201);
    expect((await c.create('n1', 'b')).status).toBe(429);
  });
});

/** A create as a raw Response, to read its headers. */
async function fetchRaw(base: string, token: string): Promise<Response> {
  const res = await SELF.fetch(`http://idplane.test${base}/nodes/n1/endpoints/cilium-local:0`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ labels: ['k8s:app=e'] }),
  });
  await res.text();
  return res;
}
