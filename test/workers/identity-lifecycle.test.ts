// Identity allocation under concurrency, reference counts, GC by alarm, grace-period revival and
// quarantine of freed numbers.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, clusterStub, clusterWithNodes, useManualClock } from './helpers.js';

const web = (i: number, extra: string[] = []) => ({
  labels: ['k8s:app=burst', ...extra],
  'k8s-namespace': 'default',
  'k8s-pod-name': `burst-${i}`,
  addressing: { ipv4: `10.9.${Math.floor(i / 250)}.${(i % 250) + 1}` },
  'sync-build-endpoint': true,
});

describe('identity allocation', () => {
  it('gives 200 concurrent creates with one new label set exactly one identity', async () => {
    const c = await clusterWithNodes(['node-1']);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => c.createEndpoint('node-1', 'cilium-local:0', web(i, [`k8s:pod-template-hash=h${i}`]))),
    );
    expect(results.map((r) => r.status)).toEqual(Array(200).fill(201));
    const ids = new Set(results.map((r) => r.body.identity.id));
    expect(ids.size).toBe(1);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(200);
    const nid = [...ids][0] as number;
    expect((await c.identity(nid)).body.references).toBe(200);
    const all = await call('GET', `${c.base}/identities`);
    expect(all.body.identities.map((i: { id: number }) => i.id)).toEqual([nid]);

    await Promise.all(results.map((r) => c.deleteEndpoint('node-1', String(r.body.id))));
    const released = await c.identity(nid);
    expect(released.status).toBe(200);
    expect(released.body.references).toBe(0);

    // Within the grace period the alarm keeps it.
    await runDurableObjectAlarm(clusterStub(c.cluster));
    expect((await c.identity(nid)).status).toBe(200);

    // Past the grace period the alarm deletes it, and the number stays quarantined.
    // (an alarm already due fires by itself; running it here as well makes the test deterministic)
    expect((await call('PATCH', `${c.base}/config`, { body: { 'identity-gc-grace-seconds': 0 } })).status).toBe(200);
    await runDurableObjectAlarm(clusterStub(c.cluster));
    expect((await c.identity(nid)).status).toBe(404);
    const again = await c.createEndpoint('node-1', 'cilium-local:0', web(0));
    expect(again.status).toBe(201);
    expect(again.body.identity.id).not.toBe(nid);
  }, 120_000); // 400 requests through the whole worker: room for a loaded 2-core CI machine

  it('keys identities by the filtered, sorted label set', async () => {
    const c = await clusterWithNodes(['node-1']);
    const a = await c.createEndpoint('node-1', '1', { labels: ['k8s:b=2', 'k8s:a=1', 'k8s:pod-template-hash=x'], 'k8s-namespace': 'ns' });
    const b = await c.createEndpoint('node-1', '2', { labels: ['k8s:a=1', 'k8s:b=2', 'k8s:controller-revision-hash=y'], 'k8s-namespace': 'ns' });
    const other = await c.createEndpoint('node-1', '3', { labels: ['k8s:a=1', 'k8s:b=2'], 'k8s-namespace': 'ns2' });
    expect(a.body.identity.id).toBe(b.body.identity.id);
    expect(other.body.identity.id).not.toBe(a.body.identity.id);
    const lookup = await call('GET', `${c.base}/identities?labels=${encodeURIComponent(a.body.identity.labels.join(','))}`);
    expect(lookup.status).toBe(200);
    expect(lookup.body.identities.map((i: { id: number }) => i.id)).toEqual([a.body.identity.id]);
  });

  it('revives a released identity re-allocated within its grace period', async () => {
    const c = await clusterWithNodes(['node-1']);
    const clock = await useManualClock(c.cluster);
    const first = await c.createEndpoint('node-1', '1', { labels: ['k8s:app=revive'] });
    const createdAt = (await c.identity(first.body.identity.id)).body['created-at'];
    expect(createdAt).toBe(new Date(clock.now()).toISOString());
    expect((await c.deleteEndpoint('node-1', '1')).status).toBe(200);
    // Within the grace period (900 s by default) the alarm keeps the released identity.
    clock.advance(899_000);
    await runDurableObjectAlarm(clusterStub(c.cluster));
    const second = await c.createEndpoint('node-1', '1', { labels: ['k8s:app=revive'] });
    expect(second.body.identity.id).toBe(first.body.identity.id);
    const id = await c.identity(first.body.identity.id);
    expect(id.body.references).toBe(1);
    // Revived, not re-created: it keeps the creation time of its first allocation.
    expect(id.body['created-at']).toBe(createdAt);
  });

  it('never hands out a quarantined number, and reports a full range as 507', async () => {
    const c = await clusterWithNodes(['node-1']);
    const first = await c.createEndpoint('node-1', '1', { labels: ['k8s:app=q'] });
    const freed = first.body.identity.id as number;
    await c.deleteEndpoint('node-1', '1');
    await call('PATCH', `${c.base}/config`, { body: { 'identity-gc-grace-seconds': 0, 'identity-quarantine-seconds': 3600 } });
    await runDurableObjectAlarm(clusterStub(c.cluster));
    expect((await c.identity(freed)).status).toBe(404);

    // Take every other number of the range, so the quarantined one is the only gap.
    await runInDurableObject(clusterStub(c.cluster), (_i, state) => {
      state.storage.sql.exec(
        `WITH RECURSIVE n(x) AS (SELECT 256 UNION ALL SELECT x + 1 FROM n WHERE x < 65535)
         INSERT INTO identities (id, sha256, labels, namespace, refcount, created_at)
         SELECT x, 'filler-' || x, '[]', NULL, 1, 0 FROM n WHERE x <> ?`,
        freed,
      );
    });
    const full = await c.createEndpoint('node-1', '2', { labels: ['k8s:app=new'] });
    expect(full.status).toBe(507);
    expect(full.body.error.code).toBe('identity-space-exhausted');
    expect((await c.getEndpoint('node-1', '2')).status).toBe(404);

    // Once the quarantine is over the number can be used again.
    await call('PATCH', `${c.base}/config`, { body: { 'identity-quarantine-seconds': 0 } });
    const reuse = await c.createEndpoint('node-1', '2', { labels: ['k8s:app=new'] });
    expect(reuse.status).toBe(201);
    expect(reuse.body.identity.id).toBe(freed);
  });

  it('answers for reserved identities', async () => {
    const c = await clusterWithNodes([]);
    const host = await c.identity(1);
    expect(host.body).toMatchObject({ id: 1, labels: ['reserved:host'], references: 0, 'created-at': null });
    const kubeApi = await c.identity(7);
    expect(kubeApi.body.labels).toEqual(['reserved:kube-apiserver', 'reserved:remote-node']);
    const listed = await call('GET', `${c.base}/identities?reserved=true`);
    expect(listed.body.identities.slice(0, 3).map((i: { id: number }) => i.id)).toEqual([1, 2, 3]);
    const byLabel = await call('GET', `${c.base}/identities?labels=reserved:world`);
    expect(byLabel.body.identities[0].id).toBe(2);
    expect((await c.identity(300)).body.error.code).toBe('identity-not-found');
  });
});
