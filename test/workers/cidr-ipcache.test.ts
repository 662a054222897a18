// CIDR identities in the ipcache: GET /ipcache lists each prefix a policy names with its identity
// and no node, endpoint or tunnel, in one prefix order with the endpoints' addresses. Where a
// policy names an endpoint's own address, the endpoint's entry wins (Cilium's ipcache: a
// CIDR-generated entry yields to every other source) and the CIDR entry comes back when the
// endpoint goes. After every step, the feed folded as an agent applies it equals the listing.
import { describe, expect, it } from 'vitest';
import type { FeedEvent } from '../../src/core/feed.js';
import { call, clusterWithNodes } from './helpers.js';

const CIDR_ID = (1 << 24) + 1;

interface Batch {
  revision: number;
  events: FeedEvent[];
}

function egressTo(name: string, cidrs: string[]) {
  return {
    apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace: 'shop' },
    spec: { endpointSelector: { matchLabels: { app: 'client' } }, egress: [{ toCIDR: cidrs }] },
  };
}

/** A CIDR identity's entry as listed. */
const cidrEntry = (prefix: string, identity: number) => ({ prefix, identity, node: null, 'host-ip': null, endpoint: null });

/** Every batch of the feed (admin: all events), in order. */
async function readFeed(base: string): Promise<Batch[]> {
  const batches: Batch[] = [];
  for (let since = 0; ; ) {
    const page = await call('GET', `${base}/feed?since=${since}`);
    expect(page.status).toBe(200);
    if (page.body.batches.length === 0) return batches;
    batches.push(...page.body.batches);
    since = batches[batches.length - 1]!.revision;
  }
}

/** An agent's ipcache after applying `batches`: prefix → identity. */
function fold(batches: Batch[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of batches.flatMap((b) => b.events)) {
    if (e.type === 'ipcache-upsert' || e.type === 'prefix-upsert') m.set(e.prefix, e.identity);
    if (e.type === 'ipcache-delete' || e.type === 'prefix-delete') m.delete(e.prefix);
  }
  return m;
}

/** The ipcache events of one revision, readable. */
function ipcacheEventsOf(batches: Batch[], revision: number): string[] {
  return batches.filter((b) => b.revision === revision).flatMap((b) => b.events).flatMap((e) => {
    if (e.type === 'ipcache-upsert' || e.type === 'prefix-upsert') return [`${e.type} ${e.prefix} ${e.identity}`];
    if (e.type === 'ipcache-delete' || e.type === 'prefix-delete') return [`${e.type} ${e.prefix}`];
    return [];
  });
}

/**
 * The listing (whole, and paged one entry at a time: the same entries at the same revision), and
 * the feed folded up to that revision, which must hold exactly the listed prefix → identity.
 */
async function ipcacheAndFeed(base: string) {
  const whole = await call('GET', `${base}/ipcache?limit=100000`);
  expect(whole.status).toBe(200);
  const paged: unknown[] = [];
  let cursor: string | undefined;
  do {
    const page = await call('GET', `${base}/ipcache?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(page.body.revision).toBe(whole.body.revision);
    paged.push(...page.body.entries);
    cursor = page.body['next-cursor'];
  } while (cursor !== undefined);
  expect(paged).toEqual(whole.body.entries);
  const batches = await readFeed(base);
  expect(batches[batches.length - 1]!.revision).toBe(whole.body.revision);
  const entries = whole.body.entries as { prefix: string; identity: number }[];
  expect(fold(batches)).toEqual(new Map(entries.map((e) => [e.prefix, e.identity])));
  return { entries: whole.body.entries, revision: whole.body.revision as number, batches };
}

describe('CIDR entries in the ipcache', () => {
  it('are listed in prefix order among the endpoint entries, with node, endpoint and host-ip null', async () => {
    const c = await clusterWithNodes(['node-1']);
    const ep = await c.createEndpoint('node-1', '1', { labels: ['k8s:app=client'], addressing: { ipv4: '10.61.0.1', ipv6: 'fd00::61:1' } });
    expect(ep.status).toBe(201);
    const put = await call('PUT', `${c.base}/policies/shop/out`, { body: egressTo('out', ['203.0.113.0/24', '10.0.0.0/8', '0.0.0.0/0', 'fd00:db8::/32']) });
    expect(put.status).toBe(201);
    const mine = { identity: ep.body.identity.id, node: 'node-1', 'host-ip': '192.168.0.1', endpoint: 1 };
    const { entries } = await ipcacheAndFeed(c.base);
    // 0.0.0.0/0 is the world identity (2): no CIDR identity, no entry.
    expect(entries).toEqual([
      cidrEntry('10.0.0.0/8', CIDR_ID),
      { prefix: '10.61.0.1/32', ...mine },
      cidrEntry('203.0.113.0/24', CIDR_ID + 1),
      { prefix: 'fd00::61:1/128', ...mine },
      cidrEntry('fd00:db8::/32', CIDR_ID + 2),
    ]);
    expect((await call('DELETE', `${c.base}/policies/shop/out`)).status).toBe(200);
    expect((await ipcacheAndFeed(c.base)).entries).toEqual([{ prefix: '10.61.0.1/32', ...mine }, { prefix: 'fd00::61:1/128', ...mine }]);
  });

  it('policy first, then an endpoint at that address: the endpoint entry wins, and the CIDR entry comes back when it goes', async () => {
    const c = await clusterWithNodes(['node-1', 'node-2']);
    const put = await call('PUT', `${c.base}/policies/shop/to-host`, { body: egressTo('to-host', ['10.61.0.5/32', 'fd00::5/128']) });
    expect(put.status).toBe(201);
    let view = await ipcacheAndFeed(c.base);
    expect(view.entries).toEqual([cidrEntry('10.61.0.5/32', CIDR_ID), cidrEntry('fd00::5/128', CIDR_ID + 1)]);

    const ep = await c.createEndpoint('node-1', '7', { labels: ['k8s:app=db'], addressing: { ipv4: '10.61.0.5', ipv6: 'fd00::5' } });
    expect(ep.status).toBe(201);
    const held = { identity: ep.body.identity.id, node: 'node-1', 'host-ip': '192.168.0.1', endpoint: 7 };
    view = await ipcacheAndFeed(c.base);
    expect(view.entries).toEqual([{ prefix: '10.61.0.5/32', ...held }, { prefix: 'fd00::5/128', ...held }]);
    // The CIDR identities stay (a policy names them), out of the ipcache while the endpoint holds the address.
    expect((await c.identity(CIDR_ID)).status).toBe(200);

    const del = await c.deleteEndpoint('node-1', '7');
    expect(del.status).toBe(200);
    view = await ipcacheAndFeed(c.base);
    expect(view.entries).toEqual([cidrEntry('10.61.0.5/32', CIDR_ID), cidrEntry('fd00::5/128', CIDR_ID + 1)]);
    expect(ipcacheEventsOf(view.batches, del.body.revision)).toEqual([
      'ipcache-delete 10.61.0.5/32', `prefix-upsert 10.61.0.5/32 ${CIDR_ID}`,
      'ipcache-delete fd00::5/128', `prefix-upsert fd00::5/128 ${CIDR_ID + 1}`,
    ]);

    // The same when the endpoint goes with its node.
    expect((await c.createEndpoint('node-2', '1', { labels: ['k8s:app=db'], addressing: { ipv4: '10.61.0.5' } })).status).toBe(201);
    expect((await ipcacheAndFeed(c.base)).entries[0]).toMatchObject({ prefix: '10.61.0.5/32', node: 'node-2' });
    expect((await call('DELETE', `${c.base}/nodes/node-2`)).status).toBe(200);
    expect((await ipcacheAndFeed(c.base)).entries).toEqual([cidrEntry('10.61.0.5/32', CIDR_ID), cidrEntry('fd00::5/128', CIDR_ID + 1)]);

    expect((await call('DELETE', `${c.base}/policies/shop/to-host`)).status).toBe(200);
    expect((await ipcacheAndFeed(c.base)).entries).toEqual([]);
  });

  it('endpoint first, then a policy naming its address: no prefix event touches its entry, put or delete', async () => {
    const c = await clusterWithNodes(['node-1']);
    const ep = await c.createEndpoint('node-1', '3', { labels: ['k8s:app=db'], addressing: { ipv4: '10.62.0.5' } });
    expect(ep.status).toBe(201);
    const held = { prefix: '10.62.0.5/32', identity: ep.body.identity.id, node: 'node-1', 'host-ip': '192.168.0.1', endpoint: 3 };

    const put = await call('PUT', `${c.base}/policies/shop/to-db`, { body: egressTo('to-db', ['10.62.0.5/32', '203.0.113.0/24']) });
    expect(put.status).toBe(201);
    let view = await ipcacheAndFeed(c.base);
    expect(view.entries).toEqual([held, cidrEntry('203.0.113.0/24', CIDR_ID + 1)]);
    expect(ipcacheEventsOf(view.batches, put.body.revision)).toEqual([`prefix-upsert 203.0.113.0/24 ${CIDR_ID + 1}`]);

    // A label change moves the endpoint to another identity: still its entry.
    const moved = await call('PATCH', `${c.base}/nodes/node-1/endpoints/3/labels`, { body: { add: ['k8s:tier=x'] } });
    expect(moved.status).toBe(200);
    view = await ipcacheAndFeed(c.base);
    expect(view.entries).toEqual([{ ...held, identity: moved.body.identity.id }, cidrEntry('203.0.113.0/24', CIDR_ID + 1)]);

    const gone = await call('DELETE', `${c.base}/policies/shop/to-db`);
    expect(gone.status).toBe(200);
    view = await ipcacheAndFeed(c.base);
    expect(view.entries).toEqual([{ ...held, identity: moved.body.identity.id }]);
    expect(ipcacheEventsOf(view.batches, gone.body.revision)).toEqual(['prefix-delete 203.0.113.0/24']);

    // With no policy naming it any more, nothing comes back when the endpoint goes.
    const del = await c.deleteEndpoint('node-1', '3');
    view = await ipcacheAndFeed(c.base);
    expect(view.entries).toEqual([]);
    expect(ipcacheEventsOf(view.batches, del.body.revision)).toEqual(['ipcache-delete 10.62.0.5/32']);
  });
});
