// A table of policy-case oracle cases (test/fixtures/policy-cases) driven through the API: each
// case's pods created as endpoints, its policies PUT as kubectl sends them, and the subject's
// `GET /identities/{id}/policy` compared with the expected entries and bytes (fixture identity
// numbers mapped to the allocated ones by labels). Cases naming CIDRs or the cluster label by
// value are left to the engine's own Node test (their numbers depend on allocation order).
import { describe, expect, it } from 'vitest';
import { policyCases, type PolicyCase } from '../fixtures/policy-cases/index.js';
import { call, clusterWithNodes } from './helpers.js';

const CLUSTER_LABEL = 'k8s:io.cilium.k8s.policy.cluster=';
const NAMESPACE_LABEL = 'k8s:io.kubernetes.pod.namespace=';
const RESERVED_MAX = 11;

const eligible = policyCases.filter((c) => {
  const text = JSON.stringify([c.policies, c.identities]);
  return !/cidr|policy\.cluster/i.test(text.replace(/k8s:io\.cilium\.k8s\.policy\.cluster=default/g, ''));
});
const step = Math.max(1, Math.floor(eligible.length / 20));
const table = eligible.filter((_c, i) => i % step === 0).slice(0, 20);

const entryText = (e: { direction: string; identity: number; protocol: number; port: number; prefixLength: number; verdict: string }) =>
  `${e.direction} id=${e.identity} proto=${e.protocol} port=${e.port} P=${e.prefixLength} ${e.verdict}`;

async function runCase(c: PolicyCase) {
  const k = await clusterWithNodes(['node-1']);
  const ids = new Map<number, number>();
  for (const identity of c.identities) {
    const namespace = identity.labels.find((l) => l.startsWith(NAMESPACE_LABEL))?.slice(NAMESPACE_LABEL.length);
    const labels = identity.labels.filter((l) => !l.startsWith(NAMESPACE_LABEL) && !l.startsWith(CLUSTER_LABEL));
    const ep = await k.createEndpoint('node-1', '0', { labels, ...(namespace ? { 'k8s-namespace': namespace } : {}) });
    expect(ep.status).toBe(201);
    const want = identity.labels.map((l) => (l.startsWith(CLUSTER_LABEL) ? `${CLUSTER_LABEL}${k.cluster}` : l)).sort();
    expect([...ep.body.identity.labels].sort()).toEqual(want);
    ids.set(identity.id, ep.body.identity.id);
  }
  for (const p of c.policies) {
    const path = p.kind === 'CiliumNetworkPolicy' ? `policies/${p.metadata.namespace}/${p.metadata.name}` : `clusterwide-policies/${p.metadata.name}`;
    const put = await call('PUT', `${k.base}/${path}`, { body: p });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
  }
  const mapId = (id: number) => (id <= RESERVED_MAX ? id : ids.get(id)!);
  return { got: await call('GET', `${k.base}/identities/${mapId(c.subject)}/policy`), mapId };
}

describe('policy cases through the API', () => {
  it('takes about twenty cases of every kind', () => {
    expect(table.length).toBeGreaterThanOrEqual(15);
  });

  it.each(table.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { got, mapId } = await runCase(c);
    expect(got.status).toBe(200);
    const entries = got.body.entries.map((e: any) => ({ ...e, prefixLength: e['prefix-length'] }));
    expect({ ingress: got.body['ingress-enforced'], egress: got.body['egress-enforced'], entries: entries.map(entryText).sort() }).toEqual({
      ingress: c.expect.ingressEnforced,
      egress: c.expect.egressEnforced,
      entries: c.expect.entries.map((e) => entryText({ ...e, identity: e.identity === 0 ? 0 : mapId(e.identity) })).sort(),
    });
    // Hand-computed bytes hold for entries whose identity number the cluster reproduces.
    for (const e of c.expect.entries.filter((x) => x.keyHex && mapId(x.identity) === x.identity)) {
      expect(entries.find((g: any) => entryText(g) === entryText(e))).toMatchObject({ key: e.keyHex, ...(e.valueHex ? { value: e.valueHex } : {}) });
    }
  });
});
