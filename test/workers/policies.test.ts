// Policies through the HTTP API: put (YAML and JSON), get, list with paging, identical no-ops,
// revisions, delete; endpoints created, relabelled and deleted with policies in place; traces.
import { describe, expect, it } from 'vitest';
import { call, clusterWithNodes, dumpState } from './helpers.js';

const yaml = { 'content-type': 'application/yaml' };

/** A CNP allowing ingress to app=web from app=client on TCP/80, as kubectl would send it. */
function allowWebYaml(namespace: string, name = 'allow-web', port = '80'): string {
  return `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: ${name}
  namespace: ${namespace}
  labels:
    team: shop
spec:
  endpointSelector:
    matchLabels:
      app: web
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: client
    toPorts:
    - ports:
      - port: "${port}"
        protocol: TCP
`;
}

const putCnp = (base: string, ns: string, name: string, text: string) =>
  call('PUT', `${base}/policies/${ns}/${name}`, { rawBody: text, headers: yaml });

describe('policies API', () => {
  it('creates (201), replaces (200), treats an identical PUT as a no-op and deletes, bumping the policy revision', async () => {
    const c = await clusterWithNodes(['node-1']);
    const created = await putCnp(c.base, 'shop', 'allow-web', allowWebYaml('shop'));
    expect(created.status).toBe(201);
    expect(created.body['policy-revision']).toBe(2);
    expect(created.body.policy).toMatchObject({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: 'allow-web', namespace: 'shop', labels: { team: 'shop' }, generation: 1, resourceVersion: '2' },
      spec: { endpointSelector: { matchLabels: { app: 'web' } } },
    });
    expect(typeof created.body.revision).toBe('number');

    const before = await dumpState(c.cluster);
    const same = await putCnp(c.base, 'shop', 'allow-web', allowWebYaml('shop'));
    expect(same.status).toBe(200);
    expect(same.body['policy-revision']).toBe(2);
    expect(same.body.revision).toBe(created.body.revision);
    expect(await dumpState(c.cluster)).toEqual(before);

    const replaced = await call('PUT', `${c.base}/policies/shop/allow-web`, {
      body: { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'allow-web' }, spec: { endpointSelector: {}, ingress: [{ fromEntities: ['world'] }] } },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body['policy-revision']).toBe(3);
    expect(replaced.body.revision).toBe(created.body.revision + 1);
    expect(replaced.body.policy.metadata).toMatchObject({ generation: 2, resourceVersion: '3', creationTimestamp: created.body.policy.metadata.creationTimestamp });
    expect(replaced.body.policy.metadata.labels).toBeUndefined();

    const got = await call('GET', `${c.base}/policies/shop/allow-web`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ policy: replaced.body.policy, 'policy-revision': 3 });

    const deleted = await call('DELETE', `${c.base}/policies/shop/allow-web`);
    expect(deleted.status).toBe(200);
    expect(deleted.body['policy-revision']).toBe(4);
    expect(deleted.body.policy).toEqual(replaced.body.policy);
    const gone = await call('GET', `${c.base}/policies/shop/allow-web`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('policy-not-found');
    expect((await call('DELETE', `${c.base}/policies/shop/allow-web`)).status).toBe(404);
  });

  it('lists per namespace, across namespaces and cluster-wide, paging with next-cursor', async () => {
    const c = await clusterWithNodes(['node-1']);
    for (const ns of ['a', 'b']) for (const n of ['p1', 'p2', 'p3']) expect((await putCnp(c.base, ns, n, allowWebYaml(ns, n))).status).toBe(201);
    const ccnp = await call('PUT', `${c.base}/clusterwide-policies/global`, {
      rawBody: 'apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: global\nspec:\n  endpointSelector: {}\n  egress:\n  - toEntities: [world]\n',
      headers: yaml,
    });
    expect(ccnp.status).toBe(201);
    const names = (items: { metadata: { namespace?: string; name: string } }[]) => items.map((p) => `${p.metadata.namespace ?? ''}/${p.metadata.name}`);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await call('GET', `${c.base}/policies?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body['policy-revision']).toBe(8);
      seen.push(...names(page.body.items));
      cursor = page.body['next-cursor'];
    } while (cursor);
    expect(seen).toEqual(['a/p1', 'a/p2', 'a/p3', 'b/p1', 'b/p2', 'b/p3']);
    expect(names((await call('GET', `${c.base}/policies/b`)).body.items)).toEqual(['b/p1', 'b/p2', 'b/p3']);
    expect(names((await call('GET', `${c.base}/clusterwide-policies`)).body.items)).toEqual(['/global']);
    expect((await call('GET', `${c.base}/clusterwide-policies/global`)).body.policy.kind).toBe('CiliumClusterwideNetworkPolicy');
  });

  it('takes policy bodies over 64 KiB (up to 1 MiB) and refuses larger ones with 413', async () => {
    const c = await clusterWithNodes(['node-1']);
    const big = allowWebYaml('shop').replace('spec:', `  annotations:\n    note: "${'x'.repeat(100 * 1024)}"\nspec:`);
    expect((await putCnp(c.base, 'shop', 'allow-web', big)).status).toBe(201);
    const huge = allowWebYaml('shop').replace('spec:', `  annotations:\n    note: "${'x'.repeat(1100 * 1024)}"\nspec:`);
    const refused = await putCnp(c.base, 'shop', 'other', huge);
    expect(refused.status).toBe(413);
    expect(refused.body.error.code).toBe('payload-too-large');
  });
});

describe('endpoints with policies in place', () => {
  it('answers creates, label changes and deletes with the policy already computed', async () => {
    const c = await clusterWithNodes(['node-1']);
    const ep = { 'k8s-namespace': 'shop' };
    const client = await c.createEndpoint('node-1', '0', { ...ep, labels: ['k8s:app=client'] });
    expect(client.body['policy-revision']).toBe(1);
    expect(client.body['policy-enforcement']).toEqual({ ingress: false, egress: false });
    const put = await putCnp(c.base, 'shop', 'allow-web', allowWebYaml('shop'));
    expect(put.status).toBe(201);

    const web = await c.createEndpoint('node-1', '0', { ...ep, labels: ['k8s:app=web'] });
    expect(web.status).toBe(201);
    expect(web.body['policy-revision']).toBe(2);
    expect(web.body['policy-enforcement']).toEqual({ ingress: true, egress: false });
    const policy = await call('GET', `${c.base}/nodes/node-1/endpoints/${web.body.id}/policy`);
    expect(policy.status).toBe(200);
    const clientId = client.body.identity.id;
    const view = policy.body.entries.map((e: any) => `${e.direction} ${e.identity} ${e.protocol}/${e.port} P${e['prefix-length']} ${e.verdict}`);
    // Sorted by key bytes: LPM length, then identity (little-endian), so wildcards come first.
    expect(view).toEqual(['egress 0 0/0 P0 allow', 'ingress 1 0/0 P0 allow', `ingress ${clientId} 6/80 P24 allow`]);
    expect(policy.body['ingress-enforced']).toBe(true);
    expect(policy.body.entries.find((e: any) => e.identity === clientId).policies).toEqual(['shop/allow-web']);
    expect(await call('GET', `${c.base}/identities/${web.body.identity.id}/policy`)).toEqual(policy);

    // Relabelled out of the policy's subject: no enforcement any more.
    const moved = await call('PATCH', `${c.base}/nodes/node-1/endpoints/${web.body.id}/labels`, { body: { add: ['k8s:app=other'], delete: ['k8s:app=web'] } });
    expect(moved.status).toBe(200);
    expect(moved.body['policy-enforcement']).toEqual({ ingress: false, egress: false });

    // A new client identity is allowed at once by the subject's entries.
    const back = await call('PATCH', `${c.base}/nodes/node-1/endpoints/${web.body.id}/labels`, { body: { add: ['k8s:app=web'], delete: ['k8s:app=other'] } });
    expect(back.body['policy-enforcement']).toEqual({ ingress: true, egress: false });
    const client2 = await c.createEndpoint('node-1', '0', { ...ep, labels: ['k8s:app=client', 'k8s:tier=2'] });
    const after = await call('GET', `${c.base}/identities/${web.body.identity.id}/policy`);
    expect(after.body.entries.map((e: any) => e.identity)).toContain(client2.body.identity.id);

    // The client's endpoints go: its entries leave the subject's map once its identity is collected.
    expect((await c.deleteEndpoint('node-1', String(client2.body.id))).status).toBe(200);
  });

  it('answers 404 policy-not-found for reserved identities and 404 identity-not-found for unknown ones', async () => {
    const c = await clusterWithNodes(['node-1']);
    const reserved = await call('GET', `${c.base}/identities/1/policy`);
    expect(reserved.status).toBe(404);
    expect(reserved.body.error.code).toBe('policy-not-found');
    const unknown = await call('GET', `${c.base}/identities/4242/policy`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('identity-not-found');
  });
});

describe('revisions in mutation answers', () => {
  it('gives every mutation the cluster revision it committed', async () => {
    const c = await clusterWithNodes(['node-1']);
    const feedRevision = async () => (await call('GET', `${c.base}/ipcache`)).body.revision;
    const created = await c.createEndpoint('node-1', '0', { labels: ['k8s:app=a'] });
    expect(created.body.revision).toBe(await feedRevision());
    const patched = await call('PATCH', `${c.base}/nodes/node-1/endpoints/${created.body.id}/labels`, { body: { add: ['k8s:tier=x'] } });
    expect(patched.body.revision).toBe(created.body.revision + 1);
    const regenerated = await call('POST', `${c.base}/nodes/node-1/endpoints/${created.body.id}/regenerate`);
    expect(regenerated.body.revision).toBe(patched.body.revision + 1);
    const node = await call('PUT', `${c.base}/nodes/node-2`, { body: { ipv4: '192.168.0.9' } });
    expect(node.body.revision).toBe(await feedRevision());
    // A GET carries none: it commits nothing.
    expect((await c.getEndpoint('node-1', String(created.body.id))).body.revision).toBeUndefined();
    const deleted = await c.deleteEndpoint('node-1', String(created.body.id));
    expect(deleted.body.revision).toBe(await feedRevision());
  });
});
