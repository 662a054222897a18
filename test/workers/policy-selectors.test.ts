// The view of which identities each policy's selectors select, through the API: selections that
// follow identities as they come and go, a CNP's selectors scoped to its namespace, a CCNP's not,
// the per-selector limit and count, and unknown policies.
import { runDurableObjectAlarm } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, clusterStub, clusterWithNodes } from './helpers.js';

const cnp = (namespace: string, name: string, spec: Record<string, unknown>) => ({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace }, spec });
const ccnp = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name }, spec });
const allowWebFromClient = { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }] };

/** The selector keys the engine gives these selectors (extended keys, CNP ones pinned to the namespace). */
const inNamespace = (app: string, ns: string) => `{"matchLabels":{"any.app":"${app}","k8s.io.kubernetes.pod.namespace":"${ns}"},"matchExpressions":[]}`;

type Selection = { selector: string; identities: number[]; count: number };
const byKey = (body: { selectors: Selection[] }) => Object.fromEntries(body.selectors.map((s) => [s.selector, { identities: s.identities, count: s.count }]));

async function setup() {
  const c = await clusterWithNodes(['node-1']);
  let n = 0;
  const endpoint = async (ns: string, ...labels: string[]) => {
    n += 1;
    const r = await c.createEndpoint('node-1', String(n), { labels, 'k8s-namespace': ns, addressing: { ipv4: `10.40.0.${n}` } });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    return { ref: String(n), id: r.body.identity.id as number };
  };
  return { ...c, endpoint };
}

describe('policy selectors', () => {
  it("follows identities as endpoints come and go; a CNP's selectors select only its namespace", async () => {
    const c = await setup();
    const web = await c.endpoint('shop', 'k8s:app=web');
    const client = await c.endpoint('shop', 'k8s:app=client');
    await c.endpoint('other', 'k8s:app=client');
    await c.endpoint('other', 'k8s:app=web');
    const put = await call('PUT', `${c.base}/policies/shop/allow-web`, { body: cnp('shop', 'allow-web', allowWebFromClient) });
    expect(put.status).toBe(201);
    const path = `${c.base}/policies/shop/allow-web/selectors`;

    const first = await call('GET', path);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      'policy-revision': put.body['policy-revision'],
      selectors: [
        { selector: inNamespace('client', 'shop'), identities: [client.id], count: 1 },
        { selector: inNamespace('web', 'shop'), identities: [web.id], count: 1 },
      ],
    });

    const canary = await c.endpoint('shop', 'k8s:app=client', 'k8s:track=canary');
    expect(byKey((await call('GET', path)).body)[inNamespace('client', 'shop')]).toEqual({ identities: [client.id, canary.id].sort((a, b) => a - b), count: 2 });

    // The canary's identity goes when its last endpoint is gone and the GC alarm runs past the grace period.
    expect((await c.deleteEndpoint('node-1', canary.ref)).status).toBe(200);
    expect((await call('PATCH', `${c.base}/config`, { body: { 'identity-gc-grace-seconds': 0 } })).status).toBe(200);
    await runDurableObjectAlarm(clusterStub(c.cluster));
    expect((await c.identity(canary.id)).status).toBe(404);
    expect((await call('GET', path)).body).toEqual(first.body);
  });

  it('lists at most limit identities per selector, the lowest first, with the count of all', async () => {
    const c = await setup();
    const clients = [];
    for (const v of ['a', 'b', 'c']) clients.push((await c.endpoint('shop', 'k8s:app=client', `k8s:v=${v}`)).id);
    clients.sort((a, b) => a - b);
    await call('PUT', `${c.base}/policies/shop/allow-web`, { body: cnp('shop', 'allow-web', allowWebFromClient) });
    const path = `${c.base}/policies/shop/allow-web/selectors`;
    expect(byKey((await call('GET', `${path}?limit=2`)).body)).toEqual({
      [inNamespace('client', 'shop')]: { identities: clients.slice(0, 2), count: 3 },
      [inNamespace('web', 'shop')]: { identities: [], count: 0 },
    });
    expect(byKey((await call('GET', `${path}?limit=1000`)).body)[inNamespace('client', 'shop')]).toEqual({ identities: clients, count: 3 });
  });

  it("shows a CCNP's subject across namespaces and its peers scoped to pods; entities and CIDRs select their identities", async () => {
    const c = await setup();
    const webShop = await c.endpoint('shop', 'k8s:app=web');
    const webOther = await c.endpoint('other', 'k8s:app=web');
    const client = await c.endpoint('other', 'k8s:app=client');
    const put = await call('PUT', `${c.base}/clusterwide-policies/web`, {
      body: ccnp('web', { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }, { fromEntities: ['host'] }, { fromCIDR: ['10.1.0.0/16'] }] }),
    });
    expect(put.status).toBe(201);
    const events = (await call('GET', `${c.base}/feed?since=0`)).body.batches.flatMap((b: { events: unknown[] }) => b.events);
    const cidr = events.find((e: { type: string; prefix?: string }) => e.type === 'prefix-upsert' && e.prefix === '10.1.0.0/16');
    expect(cidr.identity).toBeGreaterThan(1 << 24);
    const res = await call('GET', `${c.base}/clusterwide-policies/web/selectors`);
    expect(res.status).toBe(200);
    expect(res.body.selectors.map((s: Selection) => s.selector)).toEqual([...res.body.selectors.map((s: Selection) => s.selector)].sort());
    expect(byKey(res.body)).toEqual({
      '{"matchLabels":{"any.app":"client"},"matchExpressions":[["k8s.io.kubernetes.pod.namespace","Exists",[]]]}': { identities: [client.id], count: 1 },
      '{"matchLabels":{"any.app":"web"},"matchExpressions":[]}': { identities: [webShop.id, webOther.id].sort((a, b) => a - b), count: 2 },
      '{"matchLabels":{"cidr.10.1.0.0/16":""},"matchExpressions":[]}': { identities: [cidr.identity], count: 1 },
      '{"matchLabels":{"reserved.host":""},"matchExpressions":[]}': { identities: [1], count: 1 },
    });
  });

  it('shows the peers of a policy that selects no endpoint yet (not in the SelectorCache) with what they would select', async () => {
    const c = await setup();
    const client = await c.endpoint('shop', 'k8s:app=client');
    await call('PUT', `${c.base}/policies/shop/allow-web`, { body: cnp('shop', 'allow-web', allowWebFromClient) });
    expect(byKey((await call('GET', `${c.base}/policies/shop/allow-web/selectors`)).body)).toEqual({
      [inNamespace('client', 'shop')]: { identities: [client.id], count: 1 },
      [inNamespace('web', 'shop')]: { identities: [], count: 0 },
    });
  });

  it('is documented in the OpenAPI document with its limit and the order of the selectors', async () => {
    const doc = await call('GET', '/openapi.json');
    for (const path of ['/v1/clusters/{cluster}/policies/{namespace}/{name}/selectors', '/v1/clusters/{cluster}/clusterwide-policies/{name}/selectors']) {
      const get = doc.body.paths[path].get;
      expect(get.parameters).toContainEqual(expect.objectContaining({ name: 'limit', in: 'query', schema: expect.objectContaining({ minimum: 1, maximum: 1000 }) }));
      expect(get.description).toContain('sorted by selector key');
      expect(get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/PolicySelectors' });
    }
  });

  it.each([
    { name: 'an unknown CNP', path: '/policies/shop/nope/selectors' },
    { name: 'a CNP of another namespace', path: '/policies/other/allow-web/selectors' },
    { name: 'an unknown CCNP', path: '/clusterwide-policies/nope/selectors' },
    { name: 'a deleted CNP', path: '/policies/shop/gone/selectors' },
  ])('answers 404 policy-not-found for $name', async ({ path }) => {
    const c = await setup();
    await call('PUT', `${c.base}/policies/shop/allow-web`, { body: cnp('shop', 'allow-web', allowWebFromClient) });
    await call('PUT', `${c.base}/policies/shop/gone`, { body: cnp('shop', 'gone', allowWebFromClient) });
    expect((await call('DELETE', `${c.base}/policies/shop/gone`)).status).toBe(200);
    const res = await call('GET', `${c.base}${path}`);
    expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 404, code: 'policy-not-found' });
  });
});
