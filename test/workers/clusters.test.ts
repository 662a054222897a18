// Clusters are a resource: put, listed, read and deleted through the registry, each with its
// Cilium cluster ID; bad requests are refused with a code and change neither the registry nor
// the cluster.
import { abortAllDurableObjects, env, listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, clusterStub, clusterWithNodes, dumpState, dumpStorage, freshCluster, freshClusterName, registryStub, type CallOptions } from './helpers.js';

const withNodes = await clusterWithNodes(['node-1']);
const seeded = await withNodes.createEndpoint('node-1', '1', { labels: ['k8s:app=web'], addressing: { ipv4: '10.40.0.1' } });
if (seeded.status !== 201) throw new Error(JSON.stringify(seeded.body));
const meshed = await freshCluster('meshed', 17);
const empty = await freshCluster('empty');
const nodeToken = (await call('PUT', `${withNodes.base}/nodes/node-2`, { body: {} })).body.token as string;

describe('cluster lifecycle', () => {
  it('creates with 201, puts again with 200, reads, and deletes with all its data', async () => {
    const name = freshClusterName('life');
    const created = await call('PUT', `/v1/clusters/${name}`, { body: { 'cluster-id': 0 } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ name, 'cluster-id': 0, 'created-at': expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const again = await call('PUT', `/v1/clusters/${name}`, { body: {} });
    expect({ status: again.status, body: again.body }).toEqual({ status: 200, body: created.body });
    expect((await call('GET', `/v1/clusters/${name}`)).body).toEqual(created.body);

    await call('PUT', `/v1/clusters/${name}/nodes/n1`, { body: { ipv4: '192.168.50.1' } });
    await call('PUT', `/v1/clusters/${name}/nodes/n1/endpoints/1`, { body: { labels: ['k8s:app=gone'], addressing: { ipv4: '10.50.0.1' } } });
    expect((await call('DELETE', `/v1/clusters/${name}/nodes/n1`)).status).toBe(200);
    const deleted = await call('DELETE', `/v1/clusters/${name}`);
    expect({ status: deleted.status, body: deleted.body }).toEqual({ status: 200, body: created.body });
    for (const path of [`/v1/clusters/${name}`, `/v1/clusters/${name}/identities`, `/v1/clusters/${name}/nodes`]) {
      expect((await call('GET', path)).body.error.code).toBe('cluster-not-found');
    }

    // Put again: a new, empty cluster; nothing of the old one is left.
    expect((await call('PUT', `/v1/clusters/${name}`, { body: { 'cluster-id': 0 } })).status).toBe(201);
    expect((await call('GET', `/v1/clusters/${name}/nodes`)).body).toEqual({ revision: 0, nodes: [] });
    expect((await call('GET', `/v1/clusters/${name}/identities`)).body.identities).toEqual([]);
    expect((await call('GET', `/v1/clusters/${name}/feed?since=0`)).body.batches).toEqual([]);
  });

  it('lists clusters by name, in pages', async () => {
    const all = await call('GET', '/v1/clusters?limit=10000');
    const names = all.body.clusters.map((c: { name: string }) => c.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining([withNodes.cluster, meshed, empty]));
    expect(all.body.clusters.find((c: { name: string }) => c.name === meshed)['cluster-id']).toBe(17);
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await call('GET', `/v1/clusters?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.body.clusters.length).toBeLessThanOrEqual(2);
      paged.push(...page.body.clusters.map((c: { name: string }) => c.name));
      cursor = page.body['next-cursor'];
    } while (cursor);
    expect(paged).toEqual(names);
  });

  it('lets any number of clusters share cluster ID 0', async () => {
    const a = await call('PUT', `/v1/clusters/${freshClusterName('zero')}`, { body: { 'cluster-id': 0 } });
    const b = await call('PUT', `/v1/clusters/${freshClusterName('zero')}`);
    expect([a.status, b.status, b.body['cluster-id']]).toEqual([201, 201, 0]);
  });

  it('changes the ID of a cluster without identities, freeing the old one', async () => {
    const name = await freshCluster('move', 30);
    expect((await call('PUT', `/v1/clusters/${name}`, { body: { 'cluster-id': 31 } })).body['cluster-id']).toBe(31);
    expect((await call('PUT', `/v1/clusters/${freshClusterName('reuse')}`, { body: { 'cluster-id': 30 } })).status).toBe(201);
    await call('PUT', `/v1/clusters/${name}/nodes/n1`, { body: {} });
    const ep = await call('PUT', `/v1/clusters/${name}/nodes/n1/endpoints/1`, { body: { labels: ['k8s:app=moved'] } });
    expect(ep.body.identity.id >> 16).toBe(31);
  });

  it('gives one of two racing puts of the same non-zero ID the ID, the other cluster-id-taken', async () => {
    const [a, b] = [freshClusterName('race'), freshClusterName('race')];
    const results = await Promise.all([a, b].map((n) => call('PUT', `/v1/clusters/${n}`, { body: { 'cluster-id': 99 } })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(results.find((r) => r.status === 409)!.body.error.code).toBe('cluster-id-taken');
  });

  it('creates no storage for a new cluster refused for a taken ID', async () => {
    const name = freshClusterName('taken');
    const res = await call('PUT', `/v1/clusters/${name}`, { body: { 'cluster-id': 17 } });
    expect([res.status, res.body.error.code]).toEqual([409, 'cluster-id-taken']);
    const ids = (await listDurableObjectIds(env.CLUSTER)).map(String);
    expect(ids).toContain(env.CLUSTER.idFromName(meshed).toString());
    expect(ids).not.toContain(env.CLUSTER.idFromName(name).toString());
  });

  it('creates a cluster once for ten racing puts', async () => {
    const name = freshClusterName('same');
    const results = await Promise.all(Array.from({ length: 10 }, () => call('PUT', `/v1/clusters/${name}`, { body: { 'cluster-id': 0 } })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
  });
});

describe('identity numbers carry the cluster ID in bits 16–23', () => {
  it('allocates cluster 17 identities from 17<<16 and keeps the reserved numbers', async () => {
    await call('PUT', `/v1/clusters/${meshed}/nodes/n1`, { body: { ipv4: '192.168.17.1' } });
    const ep = await call('PUT', `/v1/clusters/${meshed}/nodes/n1/endpoints/1`, { body: { labels: ['k8s:app=a'], addressing: { ipv4: '10.17.0.1' } } });
    expect(ep.body.identity.id).toBe(17 << 16);
    expect((await call('GET', `/v1/clusters/${meshed}/identities/${17 << 16}`)).body.labels).toContain('k8s:app=a');
    expect((await call('GET', `/v1/clusters/${meshed}/ipcache`)).body.entries[0].identity).toBe(17 << 16);
    expect((await call('GET', `/v1/clusters/${meshed}/identities/2`)).body.labels).toEqual(['reserved:world']);
  });
});

describe('adopting data written before clusters were explicit', () => {
  it('serves an object holding data once its cluster is put with the ID its identities carry', async () => {
    const c = await clusterWithNodes(['node-1']);
    const ep = await c.createEndpoint('node-1', '1', { labels: ['k8s:app=old'], addressing: { ipv4: '10.60.0.1' } });
    await call('PUT', `${c.base}/nodes/leased`, { body: { 'lease-seconds': 600 } });
    // What such an object looks like: its data, no cluster ID, and no row in the registry.
    await runInDurableObject(clusterStub(c.cluster), (_i, state) => void state.storage.sql.exec("DELETE FROM meta WHERE key = 'cluster-id'"));
    await runInDurableObject(registryStub(), (_i, state) => void state.storage.sql.exec('DELETE FROM clusters WHERE name = ?', c.cluster));
    await abortAllDurableObjects(); // as after the deployment of this change
    expect((await c.getEndpoint('node-1', '1')).body.error.code).toBe('cluster-not-found');
    const alarmAt = () => runInDurableObject(clusterStub(c.cluster), (_i, state) => state.storage.getAlarm());
    // Its alarm does no work and is not set again until the cluster is put.
    expect(await runDurableObjectAlarm(clusterStub(c.cluster))).toBe(true);
    expect(await alarmAt()).toBeNull();
    const before = await dumpState(c.cluster);

    const refused = await call('PUT', `/v1/clusters/${c.cluster}`, { body: { 'cluster-id': 9 } });
    expect([refused.status, refused.body.error.code]).toEqual([409, 'cluster-not-empty']);
    expect(await dumpState(c.cluster)).toEqual(before);

    expect((await call('PUT', `/v1/clusters/${c.cluster}`, { body: { 'cluster-id': 0 } })).status).toBe(201);
    // The create's answer also carried the revision it committed; a GET carries none.
    expect((await c.getEndpoint('node-1', '1')).body).toEqual({ ...ep.body, revision: undefined });
    expect(await alarmAt()).not.toBeNull();
    expect((await call('GET', `${c.base}/nodes/leased`)).status).toBe(200);
    const next = await c.createEndpoint('node-1', '2', { labels: ['k8s:app=new'], addressing: { ipv4: '10.60.0.2' } });
    expect(next.body.identity.id).toBe(ep.body.identity.id + 1);
  });
});

const registry = () => dumpStorage(registryStub());

interface Row {
  name: string;
  method: string;
  path: string;
  opts?: CallOptions;
  status: number;
  code: string;
}

const at = (name: string) => `/v1/clusters/${name}`;
const rows: Row[] = [
  { name: 'ID over 255', method: 'PUT', path: at(empty), opts: { body: { 'cluster-id': 256 } }, status: 400, code: 'invalid-request' },
  { name: 'negative ID', method: 'PUT', path: at(empty), opts: { body: { 'cluster-id': -1 } }, status: 400, code: 'invalid-request' },
  { name: 'fractional ID', method: 'PUT', path: at(empty), opts: { body: { 'cluster-id': 1.5 } }, status: 400, code: 'invalid-request' },
  { name: 'ID as a string', method: 'PUT', path: at(empty), opts: { body: { 'cluster-id': '3' } }, status: 400, code: 'invalid-request' },
  { name: 'unknown field', method: 'PUT', path: at(empty), opts: { body: { 'cluster-id': 3, name: 'x' } }, status: 400, code: 'invalid-request' },
  { name: 'malformed JSON', method: 'PUT', path: at(empty), opts: { rawBody: '{"cluster-id":' }, status: 400, code: 'malformed-json' },
  { name: 'bad cluster name', method: 'PUT', path: at('Bad_Name'), opts: { body: {} }, status: 400, code: 'invalid-cluster-name' },
  { name: 'cluster name too long', method: 'PUT', path: at('a'.repeat(64)), opts: { body: {} }, status: 400, code: 'invalid-cluster-name' },
  { name: 'ID another cluster holds', method: 'PUT', path: at(empty), opts: { body: { 'cluster-id': 17 } }, status: 409, code: 'cluster-id-taken' },
  { name: 'ID change with identities', method: 'PUT', path: at(withNodes.cluster), opts: { body: { 'cluster-id': 5 } }, status: 409, code: 'cluster-not-empty' },
  { name: 'ID change by omission', method: 'PUT', path: at(meshed), opts: { body: {} }, status: 409, code: 'cluster-not-empty' },
  { name: 'delete with nodes', method: 'DELETE', path: at(withNodes.cluster), status: 409, code: 'cluster-not-empty' },
  { name: 'delete unknown', method: 'DELETE', path: at('no-such-cluster'), status: 404, code: 'cluster-not-found' },
  { name: 'get unknown', method: 'GET', path: at('no-such-cluster'), status: 404, code: 'cluster-not-found' },
  { name: 'list limit 0', method: 'GET', path: '/v1/clusters?limit=0', status: 400, code: 'invalid-request' },
  { name: 'list with a forged cursor', method: 'GET', path: '/v1/clusters?cursor=bm9wZQ', status: 400, code: 'invalid-cursor' },
  { name: 'put with a node token', method: 'PUT', path: at(empty), opts: { body: { 'cluster-id': 40 }, token: nodeToken }, status: 403, code: 'forbidden' },
  { name: 'delete with a node token', method: 'DELETE', path: at(empty), opts: { token: nodeToken }, status: 403, code: 'forbidden' },
  { name: 'get with a node token', method: 'GET', path: at(withNodes.cluster), opts: { token: nodeToken }, status: 403, code: 'forbidden' },
  { name: 'list with a node token', method: 'GET', path: '/v1/clusters', opts: { token: nodeToken }, status: 403, code: 'forbidden' },
  { name: 'OpenAPI document with a node token', method: 'GET', path: '/openapi.json', opts: { token: nodeToken }, status: 403, code: 'forbidden' },
  { name: 'put without a token', method: 'PUT', path: at(empty), opts: { body: {}, token: null }, status: 401, code: 'unauthorized' },
];

describe('cluster requests refused', () => {
  it.each(rows)('$name → $status $code, registry and clusters unchanged', async ({ method, path, opts, status, code }) => {
    const before = { registry: await registry(), withNodes: await dumpState(withNodes.cluster), meshed: await dumpState(meshed), empty: await dumpState(empty) };
    const res = await call(method, path, opts);
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
    expect(typeof res.body.error.message).toBe('string');
    expect({ registry: await registry(), withNodes: await dumpState(withNodes.cluster), meshed: await dumpState(meshed), empty: await dumpState(empty) }).toEqual(before);
  });
});
