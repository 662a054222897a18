// Every list answer is bounded by bytes as well as by count: with big label sets (and many rows)
// each page stays under a few MiB, far from the 32 MiB RPC limit, and `next-cursor` (or `since`
// for the feed) continues exactly where the page ended.
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { MAX_PAGE_BYTES } from '../../durable-objects/paging.js';
import { call, clusterStub, clusterWithNodes } from './helpers.js';
import { bigLabelSet, seedEndpoints } from './large-state.js';

const ENDPOINTS = 250;
const NODES = 13_000;
const IPCACHE = 45_000;
/** CIDR identities, listed after the cluster's own identities and among the ipcache entries. */
const CIDR = 20_000;
/** The page's own fields (revision, cursor) around its items. */
const ENVELOPE = 1024;

const c = await clusterWithNodes(['node-1']);
await seedEndpoints(c.cluster, 'node-1', ENDPOINTS, { labelsOf: (i) => bigLabelSet(i, 20_000) });
await runInDurableObject(clusterStub(c.cluster), (_i, state) => {
  const sql = state.storage.sql;
  sql.exec(
    `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
     INSERT INTO nodes (name, ipv4, created_at, updated_at) SELECT printf('filler-%05d', x), '192.168.200.1', 0, 0 FROM n`,
    NODES,
  );
  sql.exec(
    `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
     INSERT INTO ipcache (prefix, identity, node, endpoint) SELECT printf('10.250.%d.%d/32', x / 250, x % 250), 256, 'node-1', 1 FROM n`,
    IPCACHE,
  );
  sql.exec(
    `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
     INSERT INTO cidr_identities (prefix, id) SELECT printf('172.16.%d.%d/32', x / 250, x % 250), ? + x FROM n`,
    CIDR, 1 << 24,
  );
});

interface Row {
  name: string;
  path: string;
  items: string;
  key: (item: any) => string;
  total: number;
}

const rows: Row[] = [
  { name: 'endpoints', path: `${c.base}/endpoints?limit=10000`, items: 'endpoints', key: (e) => `${e.node}/${e.id}`, total: ENDPOINTS },
  { name: "a node's endpoints", path: `${c.base}/nodes/node-1/endpoints?limit=10000`, items: 'endpoints', key: (e) => `${e.node}/${e.id}`, total: ENDPOINTS },
  { name: 'identities', path: `${c.base}/identities?limit=10000`, items: 'identities', key: (i) => String(i.id), total: ENDPOINTS + CIDR },
  { name: 'ipcache', path: `${c.base}/ipcache?limit=100000`, items: 'entries', key: (e) => e.prefix, total: IPCACHE + 2 * ENDPOINTS + CIDR },
  { name: 'nodes', path: `${c.base}/nodes?limit=10000`, items: 'nodes', key: (n) => n.name, total: NODES + 1 },
];

describe('lists page by bytes', () => {
  it.each(rows)('$name: every page under the byte bound, the cursor continues to the end', async ({ path, items, key, total }) => {
    const keys: string[] = [];
    let pages = 0;
    for (let cursor: string | undefined; pages === 0 || cursor; pages++) {
      const res = await call('GET', `${path}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(JSON.stringify(res.body).length).toBeLessThanOrEqual(MAX_PAGE_BYTES + ENVELOPE);
      keys.push(...res.body[items].map(key));
      cursor = res.body['next-cursor'];
    }
    expect(pages).toBeGreaterThan(1);
    expect(new Set(keys).size).toBe(total);
    expect(keys).toHaveLength(total);
  }, 120_000);

  it('feed: long-poll pages under the byte bound continue from their last revision', async () => {
    const revisions: number[] = [];
    let since = 0;
    let pages = 0;
    for (;;) {
      const res = await call('GET', `${c.base}/feed?since=${since}`);
      expect(JSON.stringify(res.body).length).toBeLessThanOrEqual(MAX_PAGE_BYTES + ENVELOPE);
      if (res.body.batches.length === 0) break;
      pages += 1;
      revisions.push(...res.body.batches.map((b: { revision: number }) => b.revision));
      since = revisions[revisions.length - 1]!;
    }
    expect(pages).toBeGreaterThan(1);
    expect(revisions).toEqual(Array.from({ length: revisions.length }, (_, i) => i + 1));
    expect(revisions.length).toBe(1 + ENDPOINTS);
  }, 120_000);
});
