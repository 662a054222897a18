// The engine's incremental state against a from-scratch computation that evaluates every selector
// against every identity (no SelectorCache), after any sequence of identity adds/removes and
// policy puts/deletes; and a failed transaction leaves no trace.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy, type CompiledRule } from '../../../../src/core/policy/compile.js';
import { hasOwnPolicy, PolicyEngine } from '../../../../src/core/policy/engine.js';
import { identityPolicy, type IdentityPolicy } from '../../../../src/core/policy/entries.js';
import { HOST_IDENTITY, matchingRules, peerSlice, resolvePolicy } from '../../../../src/core/policy/resolve.js';
import type { EndpointSelector, PeerRule, PolicyDocument, PortRule, Rule } from '../../../../src/core/policy/rule.js';
import { selectorMatches, toMatchLabels } from '../../../../src/core/policy/selector.js';
import { RESERVED_IDENTITIES } from '../../../../src/core/identity.js';
import { CLUSTER, ccnp, cnp, pod } from './fixtures.js';

function referencePolicies(identities: Map<number, string[]>, docs: PolicyDocument[]): Map<number, IdentityPolicy> {
  const all = new Map<number, ReturnType<typeof toMatchLabels>>();
  for (const r of RESERVED_IDENTITIES) if (r.labels.length > 0) all.set(r.id, toMatchLabels(r.labels));
  for (const [id, labels] of identities) all.set(id, toMatchLabels(labels));
  const rules = docs.flatMap((d) => compilePolicy(d, CLUSTER).rules);
  const byNamespace = (ns: string): CompiledRule[] => rules.filter((r) => r.namespace === ns);
  const out = new Map<number, IdentityPolicy>();
  for (const [id, labels] of all) {
    if (!hasOwnPolicy(id)) continue;
    const policy = resolvePolicy({ id, labels }, matchingRules({ id, labels }, byNamespace));
    const slices = new Map();
    for (const [peer, peerLabels] of all) {
      const slice = peerSlice(policy, peer, (key) => selectorMatches(policy.peerSelectors.get(key)!, peerLabels));
      if (slice.size > 0) slices.set(peer, slice);
    }
    if (!slices.has(HOST_IDENTITY)) throw new Error('host identity missing');
    out.set(id, identityPolicy(policy, slices));
  }
  return out;
}

const POD_IDS = [300, 301, 302, 303, 304, 305];
const CIDR_IDS = [16777217, 16777218, 16777219];
const CIDR_LABELS = [['cidr:10.0.0.0/8', 'reserved:world'], ['cidr:10.1.0.0/16', 'reserved:world'], ['cidr:10.1.2.3/32', 'reserved:world']];

const podLabels = fc
  .record({ ns: fc.constantFrom('a', 'b'), app: fc.constantFrom('x', 'y', 'z'), container: fc.boolean(), tier: fc.option(fc.constantFrom('web', 'db'), { nil: undefined }) })
  .map(({ ns, app, container, tier }) => pod(ns, `${container ? 'container' : 'k8s'}:app=${app}`, ...(tier ? [`k8s:tier=${tier}`] : [])));

const selector: fc.Arbitrary<EndpointSelector> = fc.constantFrom<EndpointSelector>(
  {},
  { matchLabels: { app: 'x' } },
  { matchLabels: { 'k8s:app': 'y' } },
  { matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
  { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['x'] }] },
  { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'b' } },
);

const toPorts: fc.Arbitrary<PortRule[] | undefined> = fc.constantFrom<PortRule[] | undefined>(
  undefined,
  [{ ports: [{ port: 80, protocol: 'TCP' }] }],
  [{ ports: [{ port: 53, protocol: 'ANY' }] }],
  [{ ports: [{ port: 80, endPort: 95, protocol: 'TCP' }] }],
  [{ ports: [{ port: 0, protocol: 'UDP' }] }],
);

const section: fc.Arbitrary<PeerRule> = fc
  .record({
    peers: fc.constantFrom<Partial<PeerRule>>(
      {},
      { endpoints: [{ matchLabels: { app: 'x' } }] },
      { endpoints: [{}] },
      { endpoints: [{ matchLabels: { tier: 'db' } }, { matchLabels: { app: 'z' } }] },
      { entities: ['world'] },
      { entities: ['all'] },
      { entities: ['host'] },
      { entities: ['cluster'] },
      { cidr: ['10.1.0.0/16'] },
      { cidr: ['0.0.0.0/0'] },
      { cidrSet: [{ cidr: '10.0.0.0/8', except: ['10.1.2.3/32'] }] },
      { endpoints: [] },
    ),
    toPorts,
  })
  .map(({ peers, toPorts }) => ({ ...peers, ...(toPorts ? { toPorts } : {}) }));

const sections = fc.option(fc.array(section, { minLength: 1, maxLength: 2 }), { nil: undefined });
const rule: fc.Arbitrary<Rule> = fc
  .record({ endpointSelector: selector, ingress: sections, ingressDeny: sections, egress: sections, egressDeny: sections, dd: fc.option(fc.boolean(), { nil: undefined }) })
  .map(({ dd, ...r }) => {
    const out: Rule = { endpointSelector: r.endpointSelector };
    for (const k of ['ingress', 'ingressDeny', 'egress', 'egressDeny'] as const) if (r[k]) out[k] = r[k];
    if (!out.ingress && !out.ingressDeny && !out.egress && !out.egressDeny) out.ingress = [{ entities: ['host'] }];
    if (dd !== undefined) out.enableDefaultDeny = { ingress: dd };
    return out;
  });

const policy: fc.Arbitrary<PolicyDocument> = fc
  .record({ name: fc.constantFrom('p', 'q'), ns: fc.constantFrom<string | null>('a', 'b', null), rules: fc.array(rule, { minLength: 1, maxLength: 2 }) })
  .map(({ name, ns, rules }) => (ns === null ? ccnp(name, ...rules) : cnp(ns, name, ...rules)));

type Op =
  | { op: 'add'; id: number; labels: string[] }
  | { op: 'remove'; id: number }
  | { op: 'put'; doc: PolicyDocument }
  | { op: 'delete'; ref: string }
  | { op: 'regenerate'; some: boolean };

const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    podLabels.chain((labels) => fc.constantFrom(...POD_IDS).map((id): Op => ({ op: 'add', id, labels }))),
    fc.integer({ min: 0, max: CIDR_IDS.length - 1 }).map((i): Op => ({ op: 'add', id: CIDR_IDS[i]!, labels: CIDR_LABELS[i]! })),
    fc.constantFrom(...POD_IDS, ...CIDR_IDS).map((id): Op => ({ op: 'remove', id })),
    policy.map((doc): Op => ({ op: 'put', doc })),
    fc.constantFrom('p', 'q', 'a/p', 'a/q', 'b/p', 'b/q').map((ref): Op => ({ op: 'delete', ref })),
    fc.boolean().map((some): Op => ({ op: 'regenerate', some })),
  ),
  { maxLength: 25 },
);

function snapshot(engine: PolicyEngine): Record<number, IdentityPolicy | undefined> {
  const out: Record<number, IdentityPolicy | undefined> = {};
  for (const id of POD_IDS) out[id] = engine.policyOf(id);
  return out;
}

describe('incremental policy engine', () => {
  it('equals a from-scratch computation after any sequence of changes', () => {
    fc.assert(
      fc.property(ops, fc.array(fc.boolean(), { minLength: 25, maxLength: 25 }), (sequence, failures) => {
        const engine = new PolicyEngine({ clusterName: CLUSTER });
        const identities = new Map<number, string[]>();
        const docs = new Map<string, PolicyDocument>();
        sequence.forEach((o, i) => {
          const apply = (tx: Parameters<Parameters<PolicyEngine['transaction']>[0]>[0]) => {
            if (o.op === 'add') {
              if (identities.has(o.id)) tx.removeIdentity(o.id);
              tx.addIdentity(o.id, o.labels);
            } else if (o.op === 'remove') tx.removeIdentity(o.id);
            else if (o.op === 'put') tx.putPolicy(o.doc);
            else if (o.op === 'delete') tx.deletePolicy(o.ref);
            else tx.regenerate(o.some ? engine.stale().slice(0, 1) : undefined);
          };
          if (failures[i]) {
            // A transaction that fails after its writes leaves the engine as it was.
            const before = { policies: snapshot(engine), stale: engine.stale(), selections: engine.selections(), prefixes: engine.namedPrefixes() };
            expect(() =>
              engine.transaction((tx) => {
                apply(tx);
                throw new Error('storage failed');
              }),
            ).toThrow('storage failed');
            expect({ policies: snapshot(engine), stale: engine.stale(), selections: engine.selections(), prefixes: engine.namedPrefixes() }).toEqual(before);
          }
          engine.transaction(apply);
          if (o.op === 'add') identities.set(o.id, o.labels);
          if (o.op === 'remove') identities.delete(o.id);
          if (o.op === 'put') docs.set(o.doc.namespace === null ? o.doc.name : `${o.doc.namespace}/${o.doc.name}`, o.doc);
          if (o.op === 'delete') docs.delete(o.ref);
        });
        engine.transaction((tx) => tx.regenerate());
        const want = referencePolicies(identities, [...docs.values()]);
        for (const id of POD_IDS) expect(engine.policyOf(id)).toEqual(want.get(id));
        expect(engine.namedPrefixes()).toEqual([...new Set([...docs.values()].flatMap((d) => compilePolicy(d, CLUSTER).prefixes))].sort());
      }),
      { numRuns: 200 },
    );
  });
});
