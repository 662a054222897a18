// Endpoint lifecycle through the HTTP API: endpoint numbers, reference forms, conflicts, CNI
// retries, label changes, regeneration, deletion and listing.
import { describe, expect, it } from 'vitest';
import { call, clusterStub, clusterWithNodes, dumpStorage } from './helpers.js';

describe('endpoint numbers and references', () => {
  it('hands out the lowest free number for cilium-local:0, per node', async () => {
    const c = await clusterWithNodes(['node-1', 'node-2']);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await c.createEndpoint('node-1', 'cilium-local:0', { labels: ['k8s:app=a'] })).body.id);
    expect(ids).toEqual([1, 2, 3]);
    expect((await c.createEndpoint('node-2', '0', { labels: ['k8s:app=a'] })).body.id).toBe(1);
    await c.deleteEndpoint('node-1', '2');
    expect((await c.createEndpoint('node-1', 'cilium-local:0', { labels: ['k8s:app=a'] })).body.id).toBe(2);
    expect((await c.createEndpoint('node-1', '10', { labels: ['k8s:app=a'] })).body.id).toBe(10);
    expect((await c.createEndpoint('node-1', 'cilium-local:0', { labels: ['k8s:app=a'] })).body.id).toBe(4);
  });

  it('rejects a taken endpoint number with 409 and an unknown node with 404', async () => {
    const c = await clusterWithNodes(['node-1']);
    expect((await c.createEndpoint('node-1', '7', { labels: ['k8s:app=a'] })).status).toBe(201);
    const again = await c.createEndpoint('node-1', 'cilium-local:7', { labels: ['k8s:app=b'] });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('endpoint-ref-taken');
    const unknown = await c.createEndpoint('node-9', '1', { labels: ['k8s:app=a'] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('node-not-found');
  });

  it('answers a create with the endpoint a GET then reads (a new identity, a shared one, under policy)', async () => {
    const c = await clusterWithNodes(['node-1']);
    const policy = {
      apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'web', namespace: 'shop' },
      spec: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }] },
    };
    expect((await call('PUT', `${c.base}/policies/shop/web`, { body: policy })).status).toBe(201);
    for (const [i, labels] of [['k8s:app=web', 'k8s:tier=a'], ['k8s:app=web', 'k8s:tier=a'], ['k8s:app=client']].entries()) {
      const created = await c.createEndpoint('node-1', '0', { labels, 'k8s-namespace': 'shop', addressing: { ipv4: `10.9.0.${i + 1}` } });
      expect(created.status).toBe(201);
      const { revision, ...answer } = created.body;
      expect(revision).toEqual(expect.any(Number));
      expect(answer).toEqual((await c.getEndpoint('node-1', String(created.body.id))).body);
    }
    // Each new identity is stored as computed at the policy revision it was created under.
    const stored = (await dumpStorage(clusterStub(c.cluster))).identities as { policy_revision: number; policy_stale: number }[];
    const current = (await c.getEndpoint('node-1', '1')).body['policy-revision'];
    expect(current).toBeGreaterThan(1);
    expect(stored.map((r) => [r.policy_revision, r.policy_stale])).toEqual(stored.map(() => [current, 0]));
  });

  it('finds an endpoint by every Cilium ID form', async () => {
    const c = await clusterWithNodes(['node-1']);
    const created = await c.createEndpoint('node-1', 'cni-attachment-id:abc123:eth0', {
      labels: ['k8s:app=web'],
      'k8s-namespace': 'shop',
      'k8s-pod-name': 'web-0',
      addressing: { ipv4: '10.1.0.5' },
    });
    expect(created.status).toBe(201);
    expect(created.body['container-id']).toBe('abc123');
    expect(created.body['container-interface-name']).toBe('eth0');
    for (const ref of ['1', 'cilium-local:1', 'cni-attachment-id:abc123:eth0', 'container-id:abc123', 'pod-name:shop:web-0', 'pod-name:shop/web-0']) {
      const got = await c.getEndpoint('node-1', ref);
      expect([ref, got.status, got.body.id]).toEqual([ref, 200, 1]);
    }
    expect((await c.getEndpoint('node-1', 'cni-attachment-id:abc123')).status).toBe(404);
    expect((await c.getEndpoint('node-1', 'pod-name:shop:web-1')).status).toBe(404);
  });

  it('answers an identical CNI ADD retry with the same endpoint, and a different one with 409', async () => {
    const c = await clusterWithNodes(['node-1']);
    const body = { labels: ['k8s:app=web'], 'k8s-namespace': 'default', addressing: { ipv4: '10.2.0.1' }, 'sync-build-endpoint': true };
    const first = await c.createEndpoint('node-1', 'cni-attachment-id:c0ffee:eth0', body);
    const retry = await c.createEndpoint('node-1', 'cni-attachment-id:c0ffee:eth0', body);
    expect(first.status).toBe(201);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    const identity = await c.identity(first.body.identity.id);
    expect(identity.body.references).toBe(1);
    const changed = await c.createEndpoint('node-1', 'cni-attachment-id:c0ffee:eth0', { ...body, addressing: { ipv4: '10.2.0.2' } });
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('endpoint-ref-taken');
  });

  it("rejects a node's own address, IPv4 or IPv6, as a pod's", async () => {
    const c = await clusterWithNodes(['node-1']);
    expect((await call('PUT', `${c.base}/nodes/node-2`, { body: { ipv4: '192.168.7.2', ipv6: 'fd07::2' } })).status).toBe(201);
    for (const addressing of [{ ipv4: '192.168.7.2' }, { ipv6: 'FD07:0::2' }, { ipv4: '192.168.0.1' }]) {
      const res = await c.createEndpoint('node-1', '0', { labels: ['k8s:app=a'], addressing });
      expect([res.status, res.body.error.code, res.body.error.message]).toEqual([409, 'ip-in-use', expect.stringMatching(/is the address of node node-[12]/)]);
    }
  });

  it('rejects an IP another endpoint holds, cluster-wide, and frees it on delete', async () => {
    const c = await clusterWithNodes(['node-1', 'node-2']);
    expect((await c.createEndpoint('node-1', '1', { labels: ['k8s:app=a'], addressing: { ipv4: '10.3.0.1', ipv6: 'fd00::1' } })).status).toBe(201);
    const v4 = await c.createEndpoint('node-2', '1', { labels: ['k8s:app=b'], addressing: { ipv4: '10.3.0.1' } });
    expect([v4.status, v4.body.error.code]).toEqual([409, 'ip-in-use']);
    const v6 = await c.createEndpoint('node-2', '1', { labels: ['k8s:app=b'], addressing: { ipv6: 'FD00:0::1' } });
    expect([v6.status, v6.body.error.code]).toEqual([409, 'ip-in-use']);
    await c.deleteEndpoint('node-1', '1');
    expect((await c.createEndpoint('node-2', '1', { labels: ['k8s:app=b'], addressing: { ipv4: '10.3.0.1' } })).status).toBe(201);
  });
});

describe('labels, regeneration and deletion', () => {
  it('moves an endpoint to the identity of its patched labels and releases the old one', async () => {
    const c = await clusterWithNodes(['node-1']);
    const a = await c.createEndpoint('node-1', '1', { labels: ['k8s:app=web', 'k8s:tier=front'], addressing: { ipv4: '10.4.0.1' } });
    const b = await c.createEndpoint('node-1', '2', { labels: ['k8s:app=web'], addressing: { ipv4: '10.4.0.2' } });
    const patched = await call('PATCH', `${c.base}/nodes/node-1/endpoints/1/labels`, { body: { delete: ['k8s:tier=front'] } });
    expect(patched.status).toBe(200);
    expect(patched.body.identity.id).toBe(b.body.identity.id);
    expect(patched.body.regenerations).toBe(2);
    expect((await c.identity(a.body.identity.id)).body.references).toBe(0);
    expect((await c.identity(b.body.identity.id)).body.references).toBe(2);
    const ipcache = await call('GET', `${c.base}/ipcache`);
    expect(ipcache.body.entries.map((e: { identity: number }) => e.identity)).toEqual([b.body.identity.id, b.body.identity.id]);

    const back = await call('PATCH', `${c.base}/nodes/node-1/endpoints/1/labels`, { body: { add: ['k8s:tier=front'] } });
    expect(back.body.identity.id).toBe(a.body.identity.id);
    const missing = await call('PATCH', `${c.base}/nodes/node-1/endpoints/1/labels`, { body: { delete: ['k8s:nope=1'] } });
    expect([missing.status, missing.body.error.code]).toEqual([400, 'label-not-found']);
    const managed = await call('PATCH', `${c.base}/nodes/node-1/endpoints/1/labels`, { body: { add: [`k8s:io.cilium.k8s.policy.cluster=other`] } });
    expect([managed.status, managed.body.error.code]).toEqual([400, 'managed-label']);
  });

  it('applies a changed label filter at regeneration, not before', async () => {
    const c = await clusterWithNodes(['node-1']);
    const ep = await c.createEndpoint('node-1', '1', { labels: ['k8s:app=web', 'k8s:version=v1'] });
    expect(ep.body.identity.labels).toContain('k8s:version=v1');
    const cfg = await call('GET', `${c.base}/config`);
    const patched = await call('PATCH', `${c.base}/config`, { body: { 'label-filter': [...cfg.body['label-filter'], '!version'] } });
    expect(patched.status).toBe(200);
    expect((await c.getEndpoint('node-1', '1')).body.identity.id).toBe(ep.body.identity.id);
    const regen = await call('POST', `${c.base}/nodes/node-1/endpoints/1/regenerate`);
    expect(regen.status).toBe(200);
    expect(regen.body.identity.id).not.toBe(ep.body.identity.id);
    expect(regen.body.labels.information).toEqual(['k8s:version=v1']);
    expect(regen.body.regenerations).toBe(2);
  });

  it('deletes a node with its endpoints, releasing identities and ipcache entries', async () => {
    const c = await clusterWithNodes(['node-1', 'node-2']);
    const a = await c.createEndpoint('node-1', '1', { labels: ['k8s:app=a'], addressing: { ipv4: '10.5.0.1' } });
    await c.createEndpoint('node-1', '2', { labels: ['k8s:app=a'], addressing: { ipv4: '10.5.0.2' } });
    await c.createEndpoint('node-2', '1', { labels: ['k8s:app=a'], addressing: { ipv4: '10.5.0.3' } });
    const del = await call('DELETE', `${c.base}/nodes/node-1`);
    expect(del.body).toEqual({ name: 'node-1', 'endpoints-removed': 2, revision: expect.any(Number) });
    expect((await c.identity(a.body.identity.id)).body.references).toBe(1);
    const ipcache = await call('GET', `${c.base}/ipcache`);
    expect(ipcache.body.entries.map((e: { prefix: string }) => e.prefix)).toEqual(['10.5.0.3/32']);
    // The answer's revision is the one the removal committed: nothing happened since.
    expect(ipcache.body.revision).toBe(del.body.revision);
    expect((await call('GET', `${c.base}/nodes`)).body.nodes.map((n: { name: string }) => n.name)).toEqual(['node-2']);
    expect((await c.getEndpoint('node-1', '1')).body.error.code).toBe('node-not-found');
  });
});

describe('listing', () => {
  it('filters by node, namespace and labels and pages with a cursor', async () => {
    const c = await clusterWithNodes(['node-1', 'node-2']);
    for (let i = 1; i <= 5; i++) {
      await c.createEndpoint(i <= 3 ? 'node-1' : 'node-2', String(i), {
        labels: [`k8s:app=${i % 2 ? 'odd' : 'even'}`],
        'k8s-namespace': i === 5 ? 'other' : 'default',
      });
    }
    const ids = (r: { body: { endpoints: { node: string; id: number }[] } }) => r.body.endpoints.map((e) => `${e.node}/${e.id}`);
    expect(ids(await call('GET', `${c.base}/endpoints?node=node-1`))).toEqual(['node-1/1', 'node-1/2', 'node-1/3']);
    expect(ids(await call('GET', `${c.base}/endpoints?namespace=other`))).toEqual(['node-2/5']);
    expect(ids(await call('GET', `${c.base}/endpoints?labels=k8s:app=odd,k8s:io.kubernetes.pod.namespace=default`))).toEqual(['node-1/1', 'node-1/3']);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await call('GET', `${c.base}/endpoints?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.body.endpoints.length).toBeLessThanOrEqual(2);
      seen.push(...ids(page));
      cursor = page.body['next-cursor'];
    } while (cursor);
    expect(seen).toEqual(['node-1/1', 'node-1/2', 'node-1/3', 'node-2/4', 'node-2/5']);
  });

  it('pages the ipcache, every page stamped with the revision it was read at', async () => {
    const c = await clusterWithNodes(['node-1']);
    for (let i = 1; i <= 5; i++) await c.createEndpoint('node-1', String(i), { labels: ['k8s:app=p'], addressing: { ipv4: `10.40.0.${i}` } });
    const whole = await call('GET', `${c.base}/ipcache?limit=100000`);
    const prefixes: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await call('GET', `${c.base}/ipcache?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.body.revision).toBe(whole.body.revision);
      prefixes.push(...page.body.entries.map((e: { prefix: string }) => e.prefix));
      cursor = page.body['next-cursor'];
    } while (cursor);
    expect(prefixes).toEqual(whole.body.entries.map((e: { prefix: string }) => e.prefix));
    expect(prefixes).toHaveLength(5);
  });
});
