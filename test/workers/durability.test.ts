// State lives in SQLite, not in the instance: a new Durable Object instance over the same storage
// sees everything, and allocation continues without reusing numbers. Also: health and OpenAPI.
import { abortAllDurableObjects } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, clusterWithNodes, dumpState } from './helpers.js';

describe('durability', () => {
  it('survives a Durable Object restart', async () => {
    const c = await clusterWithNodes(['node-1']);
    const a = await c.createEndpoint('node-1', '0', { labels: ['k8s:app=a'], addressing: { ipv4: '10.6.0.1' } });
    await call('PATCH', `${c.base}/config`, { body: { 'identity-gc-grace-seconds': 60 } });
    const before = await dumpState(c.cluster);

    await abortAllDurableObjects();

    expect(await dumpState(c.cluster)).toEqual(before);
    // The create's answer also carried the revision it committed; a GET carries none.
    expect((await c.getEndpoint('node-1', '1')).body).toEqual({ ...a.body, revision: undefined });
    expect((await call('GET', `${c.base}/config`)).body['identity-gc-grace-seconds']).toBe(60);
    const b = await c.createEndpoint('node-1', '0', { labels: ['k8s:app=b'], addressing: { ipv4: '10.6.0.2' } });
    expect(b.status).toBe(201);
    expect(b.body.id).toBe(2);
    expect(b.body.identity.id).toBeGreaterThan(a.body.identity.id);
  });

  it('continues the cluster revision after a restart, also with the feed compacted to a horizon of one', async () => {
    const c = await clusterWithNodes(['node-1']);
    await call('PATCH', `${c.base}/config`, { body: { 'feed-horizon-revisions': 1 } });
    let last = 0;
    // Past a compaction (every 64 revisions), which leaves only the latest revision's rows.
    for (let i = 1; i <= 70; i++) {
      const r = await c.createEndpoint('node-1', '0', { labels: ['k8s:app=a'], addressing: { ipv4: `10.6.1.${i}` } });
      expect(r.body.revision).toBe(last === 0 ? r.body.revision : last + 1);
      last = r.body.revision;
    }
    await abortAllDurableObjects();
    const next = await c.createEndpoint('node-1', '0', { labels: ['k8s:app=a'], addressing: { ipv4: '10.6.2.1' } });
    expect(next.body.revision).toBe(last + 1);
    expect((await call('GET', `${c.base}/feed?since=${last}`)).body.batches.map((b: { revision: number }) => b.revision)).toEqual([last + 1]);
  });
});

describe('service endpoints', () => {
  it('answers /healthz without a token', async () => {
    expect(await call('GET', '/healthz', { token: null })).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('serves an OpenAPI document generated from the request schemas', async () => {
    const doc = await call('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/clusters',
        '/v1/clusters/{cluster}',
        '/v1/clusters/{cluster}/nodes/{node}/endpoints/{ref}',
        '/v1/clusters/{cluster}/identities/{nid}',
        '/v1/clusters/{cluster}/ipcache',
        '/v1/clusters/{cluster}/config',
        '/v1/clusters/{cluster}/namespaces',
        '/v1/clusters/{cluster}/namespaces/{namespace}',
      ]),
    );
    expect(doc.body.paths['/v1/clusters/{cluster}/nodes/{node}/endpoints/{ref}'].put.responses['429']).toBeDefined();
    expect(Object.keys(doc.body.components.schemas.ClusterConfig.properties)).toEqual(expect.arrayContaining(['node-identity-rate', 'node-identity-burst']));
    const ecr = doc.body.components.schemas.EndpointChangeRequest;
    expect(ecr.additionalProperties).toBe(false);
    expect(Object.keys(ecr.properties)).toContain('sync-build-endpoint');
  });
});
