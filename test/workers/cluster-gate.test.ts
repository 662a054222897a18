// The cluster gate: every route of an unknown cluster answers cluster-not-found, for any token,
// without creating the cluster's storage; known clusters are cached per isolate without a
// registry round trip, and a cluster deleted through another isolate is refused all the same.
import { env, listDurableObjectIds } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../worker/app.js';
import { ADMIN_TOKEN, call, freshCluster, freshClusterName } from './helpers.js';

const known = await freshCluster('known');
const nodeToken = (await call('PUT', `/v1/clusters/${known}/nodes/n1`, { body: {} })).body.token as string;
const forged = `n1.${'A'.repeat(43)}`;

/** Every route under a cluster, with a body where it takes one. */
const routes = (c: string): [string, string, unknown?][] => [
  ['PUT', `/v1/clusters/${c}/nodes/n1`, {}],
  ['GET', `/v1/clusters/${c}/nodes`],
  ['GET', `/v1/clusters/${c}/nodes/n1`],
  ['DELETE', `/v1/clusters/${c}/nodes/n1`],
  ['POST', `/v1/clusters/${c}/nodes/n1/heartbeat`, { 'applied-revision': 0 }],
  ['PUT', `/v1/clusters/${c}/nodes/n1/endpoints/1`, { labels: ['k8s:app=x'] }],
  ['GET', `/v1/clusters/${c}/nodes/n1/endpoints/1`],
  ['PATCH', `/v1/clusters/${c}/nodes/n1/endpoints/1/labels`, { add: ['k8s:a=b'] }],
  ['POST', `/v1/clusters/${c}/nodes/n1/endpoints/1/regenerate`],
  ['DELETE', `/v1/clusters/${c}/nodes/n1/endpoints/1`],
  ['GET', `/v1/clusters/${c}/nodes/n1/endpoints`],
  ['GET', `/v1/clusters/${c}/endpoints`],
  ['GET', `/v1/clusters/${c}/identities`],
  ['GET', `/v1/clusters/${c}/identities/256`],
  ['GET', `/v1/clusters/${c}/ipcache`],
  ['GET', `/v1/clusters/${c}/feed?since=0`],
  ['GET', `/v1/clusters/${c}/feed/ws?since=0`],
  ['GET', `/v1/clusters/${c}/config`],
  ['PATCH', `/v1/clusters/${c}/config`, { 'identity-gc-grace-seconds': 1 }],
];

async function clusterObjectIds(): Promise<string[]> {
  return (await listDurableObjectIds(env.CLUSTER)).map((id) => id.toString()).sort();
}

const idOf = (name: string) => env.CLUSTER.idFromName(name).toString();

describe('unknown clusters', () => {
  const cases = (['admin', 'node', 'forged'] as const).flatMap((who) => routes('never-put').map(([method, path, body]) => ({ who, method, path, body })));
  const tokens = { admin: ADMIN_TOKEN, node: nodeToken, forged };

  it.each(cases)('$method $path as $who → 404 cluster-not-found', async ({ who, method, path, body }) => {
    const headers = path.endsWith('/ws?since=0') ? { upgrade: 'websocket' } : undefined;
    const res = await call(method, path, { body, token: tokens[who], headers });
    expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 404, code: 'cluster-not-found' });
  });

  it('creates no storage for 200 forged requests to new cluster names', async () => {
    const before = await clusterObjectIds();
    const names = Array.from({ length: 200 }, () => freshClusterName('forged'));
    const answers = await Promise.all(names.map((n) => call('GET', `/v1/clusters/${n}/identities`, { token: `n1.${'B'.repeat(43)}` })));
    expect(new Set(answers.map((r) => `${r.status} ${r.body.error.code}`))).toEqual(new Set(['404 cluster-not-found']));
    const after = await clusterObjectIds();
    expect(after).toEqual(before);
    expect(after).not.toContain(idOf(names[0]!));
    // The listing does show the storage of clusters that were put.
    expect(after).toContain(idOf(known));
  });
});

/** An app of its own plays another isolate; its registry binding counts the registry calls. */
function isolate(now: () => number) {
  const app = createApp({ now });
  let registryCalls = 0;
  const counted = {
    ...env,
    REGISTRY: {
      getByName: (name: string) => {
        registryCalls += 1;
        return env.REGISTRY.getByName(name);
      },
    },
  } as unknown as Env;
  const request = async (method: string, path: string, body?: unknown) => {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await app.fetch(new Request(`http://idplane.test${path}`, init), counted);
    return { status: res.status, body: (await res.json()) as any };
  };
  return { request, registryCalls: () => registryCalls };
}

describe('the isolate cache of known clusters', () => {
  it('asks the registry once per cluster, then again only after the entry expires', async () => {
    let now = 1_000_000;
    const other = isolate(() => now);
    for (let i = 0; i < 10; i++) expect((await other.request('GET', `/v1/clusters/${known}/identities`)).status).toBe(200);
    expect(other.registryCalls()).toBe(1);
    now += 29_000;
    await other.request('GET', `/v1/clusters/${known}/ipcache`);
    expect(other.registryCalls()).toBe(1);
    now += 2_000;
    await other.request('GET', `/v1/clusters/${known}/ipcache`);
    expect(other.registryCalls()).toBe(2);
  });

  it('refuses a cluster deleted through another isolate, and serves it again once put again', async () => {
    const name = await freshCluster('stale');
    const other = isolate(() => 0);
    expect((await other.request('PUT', `/v1/clusters/${name}/nodes/n1`, {})).status).toBe(201);
    expect((await other.request('DELETE', `/v1/clusters/${name}/nodes/n1`)).status).toBe(200);
    expect(other.registryCalls()).toBe(1);

    // Deleted through this test's own worker: the other isolate still has the cluster cached.
    expect((await call('DELETE', `/v1/clusters/${name}`)).status).toBe(200);
    const stale = await other.request('PUT', `/v1/clusters/${name}/nodes/n2`, {});
    expect({ status: stale.status, code: stale.body.error.code }).toEqual({ status: 404, code: 'cluster-not-found' });
    expect(other.registryCalls()).toBe(1);
    // The refusal evicted the entry: the next request asks the registry.
    expect((await other.request('GET', `/v1/clusters/${name}/nodes`)).body.error.code).toBe('cluster-not-found');
    expect(other.registryCalls()).toBe(2);

    expect((await call('PUT', `/v1/clusters/${name}`, { body: { 'cluster-id': 0 } })).status).toBe(201);
    const fresh = await other.request('GET', `/v1/clusters/${name}/nodes`);
    expect({ status: fresh.status, body: fresh.body }).toEqual({ status: 200, body: { revision: 0, nodes: [] } });
  });
});

describe('routing', () => {
  it("compiles every route into Hono's RegExpRouter (one match per request, no trie walk)", () => {
    const app = createApp();
    app.router.match('GET', '/healthz');
    expect(app.router.name).toBe('SmartRouter + RegExpRouter');
  });

  it('lets the cluster resource itself through the gate to the registry', async () => {
    const name = freshClusterName('gate');
    expect((await call('GET', `/v1/clusters/${name}`)).body.error.code).toBe('cluster-not-found');
    expect((await call('PUT', `/v1/clusters/${name}`, { body: { 'cluster-id': 0 } })).status).toBe(201);
    expect((await call('GET', `/v1/clusters/${name}`)).status).toBe(200);
    expect((await call('GET', `/v1/clusters/${name}/nodes`)).status).toBe(200);
  });
});
