// CIDR identities through the API: each prefix a policy names (each `except` too) is listed by
// GET /identities after the cluster's own identities, in one number order paged across the
// boundary, found by number and by its labels, and gone when no policy names it any more.
import { describe, expect, it } from 'vitest';
import { identityKeyOf } from '../../src/core/identity-key.js';
import { buildLabelSet, parseLabel } from '../../src/core/labels.js';
import { call, clusterWithNodes } from './helpers.js';

const FIRST_CIDR_IDENTITY = (1 << 24) + 1;

/** A CNP letting app=client reach `cidrs` and `cidrSet` (egress). */
function egressTo(name: string, cidrs: string[], cidrSet: { cidr: string; except?: string[] }[] = []) {
  return {
    apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace: 'shop' },
    spec: { endpointSelector: { matchLabels: { app: 'client' } }, egress: [{ toCIDR: cidrs }, ...(cidrSet.length > 0 ? [{ toCIDRSet: cidrSet }] : [])] },
  };
}

/** The Identity object of a CIDR identity: labels `cidr:<prefix>` and `reserved:world`, no namespace, endpoints or creation time. */
function cidrIdentity(id: number, cidrLabel: string) {
  const labels = [`cidr:${cidrLabel}`, 'reserved:world'];
  return { id, labels, labelsSHA256: identityKeyOf(buildLabelSet(labels.map(parseLabel))).sha256, namespace: null, references: 0, 'created-at': null };
}

/** Every identity, following next-cursor with pages of `limit`. */
async function listAll(base: string, limit: number, query = ''): Promise<{ ids: number[]; pages: number }> {
  const ids: number[] = [];
  let pages = 0;
  let cursor: string | undefined;
  do {
    const r = await call('GET', `${base}/identities?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(r.status).toBe(200);
    ids.push(...r.body.identities.map((i: { id: number }) => i.id));
    pages += 1;
    cursor = r.body['next-cursor'];
  } while (cursor !== undefined);
  return { ids, pages };
}

/** Three cluster identities and a policy naming three prefixes (one an except) and 0.0.0.0/0 (the world identity, no CIDR one). */
async function clusterWithCidrPolicy() {
  const c = await clusterWithNodes(['node-1']);
  const own: number[] = [];
  for (const [i, app] of ['client', 'web', 'db'].entries()) {
    const r = await c.createEndpoint('node-1', String(i + 1), { labels: [`k8s:app=${app}`], addressing: { ipv4: `10.60.0.${i + 1}` } });
    expect(r.status).toBe(201);
    own.push(r.body.identity.id);
  }
  const put = await call('PUT', `${c.base}/policies/shop/egress`, {
    body: egressTo('egress', ['10.0.0.0/8', '0.0.0.0/0'], [{ cidr: '192.0.2.0/24', except: ['192.0.2.128/25'] }]),
  });
  expect(put.status).toBe(201);
  return { ...c, own };
}

describe('CIDR identities', () => {
  it('are listed after the cluster identities, each a cidr:<prefix> and reserved:world identity, and found by number', async () => {
    const c = await clusterWithCidrPolicy();
    const cidr = [
      cidrIdentity(FIRST_CIDR_IDENTITY, '10.0.0.0/8'),
      cidrIdentity(FIRST_CIDR_IDENTITY + 1, '192.0.2.0/24'),
      cidrIdentity(FIRST_CIDR_IDENTITY + 2, '192.0.2.128/25'),
    ];
    const list = await call('GET', `${c.base}/identities`);
    expect(list.status).toBe(200);
    expect(list.body.identities.map((i: { id: number }) => i.id)).toEqual([...c.own, ...cidr.map((i) => i.id)]);
    expect(list.body.identities.slice(3)).toEqual(cidr);
    expect(list.body['next-cursor']).toBeUndefined();
    for (const identity of cidr) expect(await c.identity(identity.id)).toEqual({ status: 200, body: identity });
  });

  it.each([
    { name: 'its two labels', labels: 'cidr:10.0.0.0/8,reserved:world', want: FIRST_CIDR_IDENTITY },
    { name: 'its two labels in the other order', labels: 'reserved:world,cidr:192.0.2.128/25', want: FIRST_CIDR_IDENTITY + 2 },
    { name: 'the cidr label alone (not an identity of its own)', labels: 'cidr:10.0.0.0/8', want: 404 },
    { name: 'a prefix no policy names', labels: 'cidr:172.16.0.0/12,reserved:world', want: 404 },
    { name: 'a third label', labels: 'cidr:10.0.0.0/8,reserved:world,k8s:app=x', want: 404 },
    { name: 'reserved:world alone (the world identity)', labels: 'reserved:world', want: 2 },
  ])('are looked up by labels: $name', async ({ labels, want }) => {
    const c = await clusterWithCidrPolicy();
    const r = await call('GET', `${c.base}/identities?labels=${encodeURIComponent(labels)}`);
    if (want === 404) {
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('identity-not-found');
    } else {
      expect(r.status).toBe(200);
      expect(r.body.identities.map((i: { id: number }) => i.id)).toEqual([want]);
    }
  });

  it.each([1, 2, 3, 4, 5, 6, 7])('page across the boundary with limit %i: every identity once, in order', async (limit) => {
    const c = await clusterWithCidrPolicy();
    const want = [...c.own, FIRST_CIDR_IDENTITY, FIRST_CIDR_IDENTITY + 1, FIRST_CIDR_IDENTITY + 2];
    const { ids, pages } = await listAll(c.base, limit);
    expect(ids).toEqual(want);
    expect(pages).toBe(Math.max(1, Math.ceil(want.length / limit)));
    // With the reserved identities first (on the first page only).
    const withReserved = await listAll(c.base, limit, '&reserved=true');
    expect(withReserved.ids.filter((id) => id > 11)).toEqual(want);
  });

  it('has an IPv6 prefix listed and found by its dashed cidr label', async () => {
    const c = await clusterWithNodes(['node-1']);
    expect((await call('PUT', `${c.base}/policies/shop/v6`, { body: egressTo('v6', ['2001:db8::/32']) })).status).toBe(201);
    const want = cidrIdentity(FIRST_CIDR_IDENTITY, '2001-db8--0/32');
    expect((await call('GET', `${c.base}/identities`)).body.identities).toEqual([want]);
    const byLabels = await call('GET', `${c.base}/identities?labels=${encodeURIComponent('cidr:2001-db8--0/32,reserved:world')}`);
    expect(byLabels.body.identities).toEqual([want]);
  });

  it('are gone when no policy names their prefix any more (one named by two policies stays until both go)', async () => {
    const c = await clusterWithCidrPolicy();
    expect((await call('PUT', `${c.base}/policies/shop/also-ten`, { body: egressTo('also-ten', ['10.0.0.0/8']) })).status).toBe(201);
    expect((await call('DELETE', `${c.base}/policies/shop/egress`)).status).toBe(200);
    expect((await listAll(c.base, 100)).ids).toEqual([...c.own, FIRST_CIDR_IDENTITY]);
    expect((await c.identity(FIRST_CIDR_IDENTITY + 1)).status).toBe(404);
    expect((await call('DELETE', `${c.base}/policies/shop/also-ten`)).status).toBe(200);
    expect((await listAll(c.base, 100)).ids).toEqual(c.own);
    const gone = await c.identity(FIRST_CIDR_IDENTITY);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('identity-not-found');
    const byLabels = await call('GET', `${c.base}/identities?labels=${encodeURIComponent('cidr:10.0.0.0/8,reserved:world')}`);
    expect(byLabels.status).toBe(404);
  });
});
