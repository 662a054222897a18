// Namespaces: their labels become `k8s:io.cilium.k8s.namespace.labels.<key>=<value>` on their
// endpoints, as Cilium derives them; a change moves the endpoints to new identities in batches
// of RELABEL_BATCH, one revision each, while other requests keep being answered.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { RELABEL_BATCH } from '../../durable-objects/ops/namespaces.js';
import { call, clusterStub, clusterWithNodes, dumpState, useManualClock } from './helpers.js';

const NS_LABEL = 'k8s:io.cilium.k8s.namespace.labels';

async function createIn(c: Awaited<ReturnType<typeof clusterWithNodes>>, namespace: string, i: number) {
  const res = await c.createEndpoint('node-1', 'cilium-local:0', {
    labels: ['k8s:app=web'],
    'k8s-namespace': namespace,
    addressing: { ipv4: `10.60.${Math.floor(i / 250)}.${(i % 250) + 1}` },
  });
  expect(res.status).toBe(201);
  return res.body;
}

describe('namespace resource', () => {
  it('puts, gets, lists and deletes a namespace, with labels in one normal form', async () => {
    const c = await clusterWithNodes(['node-1']);
    const put = await call('PUT', `${c.base}/namespaces/shop`, { body: { labels: { team: 'web', 'kubernetes.io/metadata.name': 'shop' } } });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop', team: 'web' }, 'relabel-pending': false });
    expect(Object.keys(put.body.labels)).toEqual(['kubernetes.io/metadata.name', 'team']);
    expect((await call('PUT', `${c.base}/namespaces/shop`, { body: { labels: { team: 'web', 'kubernetes.io/metadata.name': 'shop' } } })).status).toBe(200);
    await call('PUT', `${c.base}/namespaces/bank`, { body: { labels: {} } });
    expect((await call('GET', `${c.base}/namespaces/shop`)).body.labels).toEqual({ 'kubernetes.io/metadata.name': 'shop', team: 'web' });
    const page = await call('GET', `${c.base}/namespaces?limit=1`);
    expect(page.body.namespaces.map((n: { name: string }) => n.name)).toEqual(['bank']);
    const rest = await call('GET', `${c.base}/namespaces?cursor=${page.body['next-cursor']}`);
    expect(rest.body.namespaces.map((n: { name: string }) => n.name)).toEqual(['shop']);
    expect(rest.body['next-cursor']).toBeUndefined();
    expect((await call('DELETE', `${c.base}/namespaces/shop`)).status).toBe(200);
    expect((await call('GET', `${c.base}/namespaces/shop`)).status).toBe(404);
  });

  it.each([
    { name: 'a bad label key', body: { labels: { '-team': 'web' } }, status: 400, code: 'invalid-label' },
    { name: 'a bad label value', body: { labels: { team: 'we b' } }, status: 400, code: 'invalid-label' },
    { name: 'labels over 8 KiB', body: { labels: Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`k${i}`, 'v'.repeat(63)])) }, status: 400, code: 'labels-too-large' },
    { name: 'labels not an object', body: { labels: ['team=web'] }, status: 400, code: 'invalid-request' },
    { name: 'an unknown field', body: { labels: {}, owner: 'me' }, status: 400, code: 'invalid-request' },
  ])('rejects $name with $status $code, state unchanged', async ({ body, status, code }) => {
    const c = await clusterWithNodes(['node-1']);
    await call('PUT', `${c.base}/namespaces/shop`, { body: { labels: { team: 'web' } } });
    const before = await dumpState(c.cluster);
    const res = await call('PUT', `${c.base}/namespaces/shop`, { body });
    expect({ status: res.status, code: res.body.error.code }).toEqual({ status, code });
    expect(await dumpState(c.cluster)).toEqual(before);
  });
});

describe('namespace labels on endpoints', () => {
  it('derives them on create, keeps them out of the create fingerprint, and moves endpoints when they change', async () => {
    const c = await clusterWithNodes(['node-1']);
    await call('PUT', `${c.base}/namespaces/shop`, { body: { labels: { team: 'web' } } });
    const body = { labels: ['k8s:app=web'], 'k8s-namespace': 'shop', addressing: { ipv4: '10.61.0.1' } };
    const a = await c.createEndpoint('node-1', 'cni-attachment-id:c1:eth0', body);
    const outside = await c.createEndpoint('node-1', 'cilium-local:0', { labels: ['k8s:app=web'], 'k8s-namespace': 'bank' });
    expect(a.body.labels.identity).toContain(`${NS_LABEL}.team=web`);
    expect(a.body.identity.labels).toContain(`${NS_LABEL}.team=web`);
    expect(outside.body.identity.labels.some((l: string) => l.startsWith(NS_LABEL))).toBe(false);

    const since = (await call('GET', `${c.base}/feed?since=0`)).body.revision;
    const put = await call('PUT', `${c.base}/namespaces/shop`, { body: { labels: { team: 'payments' } } });
    expect(put.body['relabel-pending']).toBe(false);
    const moved = await c.getEndpoint('node-1', '1');
    expect(moved.body.identity.labels).toContain(`${NS_LABEL}.team=payments`);
    expect(moved.body.identity.id).not.toBe(a.body.identity.id);
    expect((await c.identity(a.body.identity.id)).body.references).toBe(0);
    const feed = await call('GET', `${c.base}/feed?since=${since}`);
    const types: string[][] = feed.body.batches.map((b: { events: { type: string }[] }) => b.events.map((e) => e.type));
    expect(types.map((t) => t.filter((x) => !x.startsWith('policy-')))).toEqual([['identity-add', 'endpoint-upsert', 'ipcache-upsert']]);
    // The node drops the old identity's policy and gets the new one's, in the same revision.
    expect(types[0]!.filter((x) => x.startsWith('policy-')).sort()).toEqual(['policy-delete', 'policy-upsert']);
    // A CNI ADD retry after the namespace changed is still the same create.
    expect((await c.createEndpoint('node-1', 'cni-attachment-id:c1:eth0', body)).status).toBe(200);

    await call('DELETE', `${c.base}/namespaces/shop`);
    const bare = await c.getEndpoint('node-1', '1');
    expect(bare.body.identity.labels.some((l: string) => l.startsWith(NS_LABEL))).toBe(false);
  });

  it('moves a large namespace in batches, one revision each, answering other requests between them', async () => {
    const c = await clusterWithNodes(['node-1']);
    const clock = await useManualClock(c.cluster);
    const total = 2 * RELABEL_BATCH + 30;
    await call('PUT', `${c.base}/namespaces/big`, { body: { labels: { tier: 'old' } } });
    for (let i = 0; i < total; i++) await createIn(c, 'big', i);
    const since = (await call('GET', `${c.base}/feed?since=0`)).body.revision;
    const tiers = async () => {
      const list = await call('GET', `${c.base}/endpoints?namespace=big&limit=10000`);
      const count = new Map<string, number>();
      for (const ep of list.body.endpoints as { identity: { labels: string[] } }[]) {
        const tier = ep.identity.labels.find((l) => l.startsWith(`${NS_LABEL}.tier=`))!;
        count.set(tier, (count.get(tier) ?? 0) + 1);
      }
      return Object.fromEntries(count);
    };

    const put = await call('PUT', `${c.base}/namespaces/big`, { body: { labels: { tier: 'new' } } });
    expect(put.body['relabel-pending']).toBe(true);
    // Between batches the DO answers other requests, and a create in the namespace is current.
    expect(await tiers()).toEqual({ [`${NS_LABEL}.tier=new`]: RELABEL_BATCH, [`${NS_LABEL}.tier=old`]: total - RELABEL_BATCH });
    const late = await createIn(c, 'big', total);
    expect(late.identity.labels).toContain(`${NS_LABEL}.tier=new`);
    // The alarm moves the rest batch by batch, yielding between them: reads meanwhile are answered.
    clock.advance(1000);
    const [ran, ...reads] = await Promise.all([
      runDurableObjectAlarm(clusterStub(c.cluster)),
      ...Array.from({ length: 10 }, () => call('GET', `${c.base}/namespaces/big`)),
    ]);
    expect(ran).toBe(true);
    expect(reads.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(await tiers()).toEqual({ [`${NS_LABEL}.tier=new`]: total + 1 });
    expect((await call('GET', `${c.base}/namespaces/big`)).body['relabel-pending']).toBe(false);

    const feed = await call('GET', `${c.base}/feed?since=${since}`);
    const upserts = (feed.body.batches as { events: { type: string }[] }[]).map((b) => b.events.filter((e) => e.type === 'endpoint-upsert').length);
    // The PUT's batch, the late create, then the alarm's two batches, one revision each.
    expect(upserts).toEqual([RELABEL_BATCH, 1, RELABEL_BATCH, total - 2 * RELABEL_BATCH]);
  });

  it('retries a failing batch a minute later instead of at once', async () => {
    const c = await clusterWithNodes(['node-1']);
    const clock = await useManualClock(c.cluster);
    await call('PUT', `${c.base}/namespaces/full`, { body: { labels: { tier: 'old' } } });
    for (let i = 0; i < RELABEL_BATCH; i++) await createIn(c, 'full', i);
    // The last endpoint has labels of its own: its move needs a new identity.
    const odd = await c.createEndpoint('node-1', 'cilium-local:0', { labels: ['k8s:app=odd'], 'k8s-namespace': 'full' });
    expect((await call('PUT', `${c.base}/namespaces/full`, { body: { labels: { tier: 'new' } } })).body['relabel-pending']).toBe(true);
    const stub = clusterStub(c.cluster);
    await runInDurableObject(stub, (_i, state) => {
      state.storage.sql.exec(
        `WITH RECURSIVE n(x) AS (SELECT 256 UNION ALL SELECT x + 1 FROM n WHERE x < 65535)
         INSERT INTO identities (id, sha256, labels, namespace, refcount, created_at)
         SELECT x, 'filler-' || x, '[]', NULL, 1, 0 FROM n WHERE x NOT IN (SELECT id FROM identities)`,
      );
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await call('GET', `${c.base}/namespaces/full`)).body['relabel-pending']).toBe(true);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(clock.now() + 60_000);

    await runInDurableObject(stub, (_i, state) => void state.storage.sql.exec("DELETE FROM identities WHERE sha256 LIKE 'filler-%'"));
    clock.advance(60_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await call('GET', `${c.base}/namespaces/full`)).body['relabel-pending']).toBe(false);
    expect((await c.getEndpoint('node-1', String(odd.body.id))).body.identity.labels).toContain(`${NS_LABEL}.tier=new`);
  });

  it('cuts a batch by label bytes too, so one revision stays under 1 MiB of feed', async () => {
    const c = await clusterWithNodes(['node-1']);
    await useManualClock(c.cluster);
    await call('PUT', `${c.base}/namespaces/heavy`, { body: { labels: { tier: 'old' } } });
    // 36 endpoints with ~30 KiB of labels each, each its own identity: over 1 MiB in one batch.
    for (let i = 0; i < 36; i++) {
      const labels = Array.from({ length: 95 }, (_, j) => `k8s:${'p'.repeat(240)}.example/e${i}-${j}=${'v'.repeat(63)}`);
      expect((await c.createEndpoint('node-1', 'cilium-local:0', { labels, 'k8s-namespace': 'heavy' })).status).toBe(201);
    }
    const since = (await call('GET', `${c.base}/feed?since=0`)).body.revision;
    expect((await call('PUT', `${c.base}/namespaces/heavy`, { body: { labels: { tier: 'new' } } })).body['relabel-pending']).toBe(true);
    for (let i = 0; i < 5 && (await runDurableObjectAlarm(clusterStub(c.cluster))); i++);
    expect((await call('GET', `${c.base}/namespaces/heavy`)).body['relabel-pending']).toBe(false);
    const feed = await call('GET', `${c.base}/feed?since=${since}`);
    const batches = feed.body.batches as { events: { type: string }[] }[];
    expect(batches.map((b) => b.events.filter((e) => e.type === 'endpoint-upsert').length).reduce((a, b) => a + b)).toBe(36);
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) expect(JSON.stringify(b.events).length).toBeLessThan(1024 * 1024);
  });
});
