// Node tokens and leases: what each token may do on every route, and lease expiry by alarm.
import { runDurableObjectAlarm } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, call, clusterStub, freshCluster } from './helpers.js';
import { shiftClock } from './large-state.js';

const cluster = await freshCluster('auth');
const base = `/v1/clusters/${cluster}`;
const n1 = await call('PUT', `${base}/nodes/n1`, { body: { ipv4: '192.168.9.1' } });
const n2 = await call('PUT', `${base}/nodes/n2`, { body: { ipv4: '192.168.9.2' } });
const tokens: Record<string, string | null> = { admin: ADMIN_TOKEN, own: n1.body.token, other: n2.body.token, none: null };
await call('PUT', `${base}/namespaces/shop`, { body: { labels: { team: 'web' } } });
const seeded = await call('PUT', `${base}/nodes/n1/endpoints/1`, { body: { labels: ['k8s:app=seed'], addressing: { ipv4: '10.30.0.1' } } });
if (seeded.status !== 201) throw new Error(JSON.stringify(seeded.body));

const cnpBody = (name: string) => ({
  apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace: 'seed' },
  spec: { endpointSelector: { matchLabels: { app: 'seed' } }, ingress: [{ fromEntities: ['world'] }] },
});
const ccnpBody = (name: string) => ({
  apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name },
  spec: { endpointSelector: { matchLabels: { app: 'seed' } }, egress: [{ toEntities: ['world'] }] },
});
for (const [path, body] of [[`${base}/policies/seed/p`, cnpBody('p')], [`${base}/clusterwide-policies/g`, ccnpBody('g')]] as const) {
  const put = await call('PUT', path, { body });
  if (put.status !== 201) throw new Error(JSON.stringify(put.body));
}

type Who = 'admin' | 'own' | 'other' | 'none';
interface Route {
  name: string;
  request: () => [string, string, unknown?];
  allowed: Who[];
}

let counter = 10;
const next = () => ++counter;
const routes: Route[] = [
  { name: 'PUT node', request: () => ['PUT', `${base}/nodes/n1`, { ipv4: '192.168.9.1' }], allowed: ['admin'] },
  { name: 'GET nodes', request: () => ['GET', `${base}/nodes`], allowed: ['admin', 'own', 'other'] },
  { name: 'GET node', request: () => ['GET', `${base}/nodes/n1`], allowed: ['admin'] },
  { name: 'DELETE node', request: () => ['DELETE', `${base}/nodes/gone-${next()}`], allowed: ['admin'] },
  { name: 'heartbeat', request: () => ['POST', `${base}/nodes/n1/heartbeat`, { 'applied-revision': 1 }], allowed: ['admin', 'own'] },
  { name: 'create endpoint', request: () => ['PUT', `${base}/nodes/n1/endpoints/${next()}`, { labels: ['k8s:app=x'] }], allowed: ['admin', 'own'] },
  { name: 'get endpoint', request: () => ['GET', `${base}/nodes/n1/endpoints/1`], allowed: ['admin', 'own'] },
  { name: 'patch labels', request: () => ['PATCH', `${base}/nodes/n1/endpoints/1/labels`, { add: [`k8s:v=${next()}`] }], allowed: ['admin', 'own'] },
  { name: 'regenerate', request: () => ['POST', `${base}/nodes/n1/endpoints/1/regenerate`], allowed: ['admin', 'own'] },
  { name: 'delete endpoint', request: () => ['DELETE', `${base}/nodes/n1/endpoints/${counter}`], allowed: ['admin', 'own'] },
  { name: 'list node endpoints', request: () => ['GET', `${base}/nodes/n1/endpoints`], allowed: ['admin', 'own'] },
  { name: 'node policy snapshot', request: () => ['GET', `${base}/nodes/n1/policy`], allowed: ['admin', 'own'] },
  { name: 'list all endpoints', request: () => ['GET', `${base}/endpoints`], allowed: ['admin'] },
  { name: 'list identities', request: () => ['GET', `${base}/identities`], allowed: ['admin', 'own', 'other'] },
  { name: 'get identity', request: () => ['GET', `${base}/identities/1`], allowed: ['admin', 'own', 'other'] },
  { name: 'ipcache', request: () => ['GET', `${base}/ipcache`], allowed: ['admin', 'own', 'other'] },
  { name: 'feed', request: () => ['GET', `${base}/feed?since=0`], allowed: ['admin', 'own', 'other'] },
  { name: 'PUT namespace', request: () => ['PUT', `${base}/namespaces/shop`, { labels: { team: 'web' } }], allowed: ['admin'] },
  { name: 'GET namespace', request: () => ['GET', `${base}/namespaces/shop`], allowed: ['admin', 'own', 'other'] },
  { name: 'list namespaces', request: () => ['GET', `${base}/namespaces`], allowed: ['admin', 'own', 'other'] },
  { name: 'DELETE namespace', request: () => ['DELETE', `${base}/namespaces/gone-${next()}`], allowed: ['admin'] },
  { name: 'PUT CNP', request: () => ['PUT', `${base}/policies/seed/p`, cnpBody('p')], allowed: ['admin'] },
  { name: 'GET CNP', request: () => ['GET', `${base}/policies/seed/p`], allowed: ['admin', 'own', 'other'] },
  { name: 'list CNPs', request: () => ['GET', `${base}/policies`], allowed: ['admin', 'own', 'other'] },
  { name: 'list CNPs of a namespace', request: () => ['GET', `${base}/policies/seed`], allowed: ['admin', 'own', 'other'] },
  { name: 'DELETE CNP', request: () => ['DELETE', `${base}/policies/seed/gone-${next()}`], allowed: ['admin'] },
  { name: 'PUT CCNP', request: () => ['PUT', `${base}/clusterwide-policies/g`, ccnpBody('g')], allowed: ['admin'] },
  { name: 'GET CCNP', request: () => ['GET', `${base}/clusterwide-policies/g`], allowed: ['admin', 'own', 'other'] },
  { name: 'list CCNPs', request: () => ['GET', `${base}/clusterwide-policies`], allowed: ['admin', 'own', 'other'] },
  { name: 'DELETE CCNP', request: () => ['DELETE', `${base}/clusterwide-policies/gone-${next()}`], allowed: ['admin'] },
  { name: 'CNP selectors', request: () => ['GET', `${base}/policies/seed/p/selectors?limit=10`], allowed: ['admin', 'own', 'other'] },
  { name: 'CCNP selectors', request: () => ['GET', `${base}/clusterwide-policies/g/selectors`], allowed: ['admin', 'own', 'other'] },
  { name: 'identity policy', request: () => ['GET', `${base}/identities/${seeded.body.identity.id}/policy`], allowed: ['admin', 'own', 'other'] },
  { name: 'endpoint policy', request: () => ['GET', `${base}/nodes/n1/endpoints/1/policy`], allowed: ['admin', 'own'] },
  { name: 'policy trace', request: () => ['POST', `${base}/policy/trace`, { from: { identity: 2 }, to: { endpoint: { node: 'n1', ref: '1' } }, protocol: 'TCP', port: 80 }], allowed: ['admin', 'own', 'other'] },
  { name: 'get config', request: () => ['GET', `${base}/config`], allowed: ['admin'] },
  { name: 'patch config', request: () => ['PATCH', `${base}/config`, { 'identity-gc-grace-seconds': 900 }], allowed: ['admin'] },
];

const cases = routes.flatMap((r) => (['admin', 'own', 'other', 'none'] as Who[]).map((who) => ({ ...r, who, want: r.allowed.includes(who) ? 'allowed' : who === 'none' ? 401 : 403 })));

describe('token scoping', () => {
  it.each(cases)('$name as $who → $want', async ({ request, who, want }) => {
    const [method, path, body] = request();
    // Routes that remove something get it created first.
    const gone = /\/(nodes|namespaces)\/(gone-\d+)$/.exec(path);
    if (gone) await call('PUT', path, { body: gone[1] === 'nodes' ? {} : { labels: {} } });
    if (method === 'DELETE' && path.includes('/endpoints/')) await call('PUT', path, { body: { labels: ['k8s:app=x'] } });
    const policyName = /\/(gone-\d+)$/.exec(path)?.[1];
    if (method === 'DELETE' && policyName && path.includes('policies/')) {
      await call('PUT', path, { body: path.includes('clusterwide') ? ccnpBody(policyName) : cnpBody(policyName) });
    }
    const res = await call(method, path, { body, token: tokens[who] });
    if (want === 'allowed') expect([method, res.status < 300]).toEqual([method, true]);
    else expect({ status: res.status, code: res.body.error.code }).toEqual({ status: want, code: want === 401 ? 'unauthorized' : 'forbidden' });
  });

  it('rejects a node token with the right shape but the wrong secret', async () => {
    const forged = `n1.${'A'.repeat(43)}`;
    const res = await call('GET', `${base}/identities`, { token: forged });
    expect([res.status, res.body.error.code]).toEqual([401, 'unauthorized']);
  });

  it('issues a token once, and rotates it on request', async () => {
    const again = await call('PUT', `${base}/nodes/n2`, { body: { ipv4: '192.168.9.2' } });
    expect(again.status).toBe(200);
    expect(again.body.token).toBeUndefined();
    const rotated = await call('PUT', `${base}/nodes/n2`, { body: { ipv4: '192.168.9.2', 'rotate-token': true } });
    expect(rotated.body.token).toMatch(/^n2\.[A-Za-z0-9_-]{43}$/);
    expect((await call('GET', `${base}/ipcache`, { token: n2.body.token })).status).toBe(401);
    expect((await call('GET', `${base}/ipcache`, { token: rotated.body.token })).status).toBe(200);
  });
});

describe('leases', () => {
  it('expires a node whose lease lapsed: endpoints, identities and ipcache entries go in one revision', async () => {
    const c = await freshCluster('lease');
    const b = `/v1/clusters/${c}`;
    await call('PUT', `${b}/nodes/short`, { body: { ipv4: '192.168.8.1', 'lease-seconds': 1 } });
    await call('PUT', `${b}/nodes/stay`, { body: { ipv4: '192.168.8.2' } });
    const a = await call('PUT', `${b}/nodes/short/endpoints/1`, { body: { labels: ['k8s:app=lease'], addressing: { ipv4: '10.31.0.1' } } });
    await call('PUT', `${b}/nodes/stay/endpoints/1`, { body: { labels: ['k8s:app=lease'], addressing: { ipv4: '10.31.0.2' } } });
    const hb = await call('POST', `${b}/nodes/short/heartbeat`, { body: { 'applied-revision': 3 } });
    expect(hb.body).toMatchObject({ 'applied-revision': 3, 'lease-seconds': 1 });
    const nodes = await call('GET', `${b}/nodes`);
    expect(nodes.body.nodes.find((n: { name: string }) => n.name === 'short')).toMatchObject({ 'applied-revision': 3, lag: nodes.body.revision - 3 });
    const before = (await call('GET', `${b}/feed?since=0`)).body.revision;

    await shiftClock(c, 1100);
    await runDurableObjectAlarm(clusterStub(c));

    expect((await call('GET', `${b}/nodes/short`)).status).toBe(404);
    expect((await call('GET', `${b}/ipcache`)).body.entries.map((e: { prefix: string }) => e.prefix)).toEqual(['10.31.0.2/32']);
    expect((await call('GET', `${b}/identities/${a.body.identity.id}`)).body.references).toBe(1);
    const feed = await call('GET', `${b}/feed?since=${before}`);
    expect(feed.body.batches).toHaveLength(1);
    expect(feed.body.batches[0].events.map((e: { type: string }) => e.type)).toEqual(['ipcache-delete', 'endpoint-delete', 'node-delete']);
    expect((await call('GET', `${b}/nodes/stay`)).status).toBe(200);
  });
});
