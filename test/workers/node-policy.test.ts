// GET /nodes/{node}/policy: the policy of every identity hosted on the node, each once, in
// identity order, paged by count and by bytes, every page at the first page's revision. The
// policies come from the state's policy source, here a table set inside the object.
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ClusterDO } from '../../durable-objects/cluster-do.js';
import type { ClusterState } from '../../durable-objects/cluster-state.js';
import { MAX_PAGE_BYTES } from '../../durable-objects/paging.js';
import type { IdentityPolicy } from '../../src/api/node-policy.js';
import { call, clusterStub, clusterWithNodes } from './helpers.js';

/** A policy of `entries` entries for `identity`: about 56 bytes of JSON each. */
const policyOf = (identity: number, entries: number): IdentityPolicy => ({
  identity, 'policy-revision': 3, 'ingress-enforced': true, 'egress-enforced': identity % 2 === 0,
  entries: Array.from({ length: entries }, (_, i) => ({ key: i.toString(16).padStart(24, '0'), value: identity.toString(16).padStart(16, '0') })),
});

/** Makes the object's policy source answer from `table` (identities not in it have no policy). */
async function setPolicies(cluster: string, table: Map<number, IdentityPolicy>): Promise<void> {
  await runInDurableObject(clusterStub(cluster), (instance: ClusterDO) => {
    (instance as unknown as { state: ClusterState })
      .state.policySnapshot = { policyOf: (id) => table.get(id) };
  });
}

/** node-1 hosts 7 endpoints of 6 identities (two share one), node-2 one more identity. */
async function hostedCluster() {
  const c = await clusterWithNodes(['node-1', 'node-2']);
  const ids: number[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await c.createEndpoint('node-1', String(i + 1), { labels: [`k8s:app=p${i}`], addressing: { ipv4: `10.40.0.${i + 1}` } });
    expect(r.status).toBe(201);
    ids.push(r.body.identity.id);
  }
  expect((await c.createEndpoint('node-1', '7', { labels: ['k8s:app=p0'], addressing: { ipv4: '10.40.0.7' } })).status).toBe(201);
  const other = await c.createEndpoint('node-2', '1', { labels: ['k8s:app=elsewhere'], addressing: { ipv4: '10.40.1.1' } });
  return { c, ids: ids.sort((a, b) => a - b), otherId: other.body.identity.id as number };
}

async function readAll(path: string): Promise<{ pages: { revision: number; identities: IdentityPolicy[]; bytes: number }[] }> {
  const pages: { revision: number; identities: IdentityPolicy[]; bytes: number }[] = [];
  let cursor: string | undefined;
  do {
    const r = await call('GET', `${path}${path.includes('?') ? '&' : '?'}${cursor ? `cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(r.status).toBe(200);
    pages.push({ revision: r.body.revision, identities: r.body.identities, bytes: JSON.stringify(r.body).length });
    cursor = r.body['next-cursor'];
  } while (cursor !== undefined);
  return { pages };
}

describe('node policy snapshot', () => {
  it.each([
    { name: 'by count', limit: 2, entries: 10, pages: 3 },
    { name: 'by bytes', limit: 1000, entries: 30_000, pages: 3 },
  ])('pages $name: every hosted identity with a policy once, in order, at the first revision', async ({ limit, entries, pages }) => {
    const { c, ids, otherId } = await hostedCluster();
    // One hosted identity has no policy of its own; node-2's identity has one but is not hosted here.
    const table = new Map([...ids.slice(1), otherId].map((id) => [id, policyOf(id, entries)]));
    await setPolicies(c.cluster, table);
    const first = await call('GET', `${c.base}/nodes/node-1/policy?limit=${limit}`);
    const revision = first.body.revision;
    // A commit between pages: later pages still answer the first page's revision.
    expect((await c.createEndpoint('node-2', '2', { labels: ['k8s:app=later'] })).status).toBe(201);

    const { pages: read } = await readAll(`${c.base}/nodes/node-1/policy?limit=${limit}`);
    expect(read).toHaveLength(pages);
    expect(read.map((p) => p.revision)).toEqual(read.map(() => revision + 1));
    expect(read.flatMap((p) => p.identities)).toEqual(ids.slice(1).map((id) => table.get(id)));
    for (const p of read) {
      expect(p.identities.length).toBeLessThanOrEqual(limit);
      // Over the bound only with a single identity (one larger than a page still moves the reader on).
      if (p.identities.length > 1) expect(p.bytes).toBeLessThanOrEqual(MAX_PAGE_BYTES + 1024);
    }
    const followed = await call('GET', `${c.base}/nodes/node-1/policy?limit=${limit}&cursor=${encodeURIComponent(first.body['next-cursor'])}`);
    expect(followed.body.revision).toBe(revision);
  });

  it('lists the engine policy of each hosted identity (no policy selects them: the three default entries), and nothing for a node without endpoints', async () => {
    const { c, ids } = await hostedCluster();
    const hosted = await call('GET', `${c.base}/nodes/node-1/policy`);
    expect(hosted.body.identities.map((p: IdentityPolicy) => p.identity)).toEqual(ids);
    for (const p of hosted.body.identities as IdentityPolicy[]) {
      expect(p).toMatchObject({ 'ingress-enforced': false, 'egress-enforced': false });
      // ingress ANY allow, ingress host (1) allow, egress ANY allow (POLICY.md §6)
      expect(p.entries).toEqual([
        { key: '280000000000000000000000', value: '0000000000000000' },
        { key: '280000000000000001000000', value: '0000000000000000' },
        { key: '280000000100000000000000', value: '0000000000000000' },
      ]);
    }
    await call('PUT', `${c.base}/nodes/node-3`, { body: {} });
    expect((await call('GET', `${c.base}/nodes/node-3/policy`)).body.identities).toEqual([]);
  });
});
