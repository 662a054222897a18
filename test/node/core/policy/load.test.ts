// PolicyEngine.load, the Durable Object's start-up path (no undo log, its own order of work),
// against one transaction doing the same adds and regenerating: the same policy for every
// identity, the same SelectorCache and prefixes, and an engine that keeps changing the same way.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicyEngine, type PolicyTxn } from '../../../../src/core/policy/engine.js';
import type { EndpointSelector, PeerRule, PolicyDocument, Rule } from '../../../../src/core/policy/rule.js';
import { CLUSTER, ccnp, cnp, pod, tcp } from './fixtures.js';

const POD_IDS = [300, 301, 302, 303, 304, 305, 306, 307];
const CIDR: [number, readonly string[]][] = [
  [16777217, ['cidr:10.0.0.0/8', 'reserved:world']],
  [16777218, ['cidr:10.1.0.0/16', 'reserved:world']],
];

const podLabels = fc
  .record({ ns: fc.constantFrom('a', 'b'), app: fc.constantFrom('x', 'y'), tier: fc.constantFrom('web', 'db') })
  .map(({ ns, app, tier }) => pod(ns, `k8s:app=${app}`, `k8s:tier=${tier}`));

const identities = fc.tuple(...POD_IDS.map(() => fc.option(podLabels, { nil: undefined }))).map((labels) => {
  const out: [number, readonly string[]][] = [...CIDR];
  labels.forEach((l, i) => l && out.push([POD_IDS[i]!, l]));
  return out;
});

const section: fc.Arbitrary<PeerRule> = fc.constantFrom<PeerRule>(
  {},
  { endpoints: [{ matchLabels: { app: 'x' } }], toPorts: [tcp(80)] },
  { endpoints: [{ matchLabels: { tier: 'db' } }] },
  { endpoints: [{}], toPorts: [tcp(8000, 8080)] },
  { entities: ['world', 'host'] },
  { cidr: ['10.1.0.0/16'] },
  { cidrSet: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }], toPorts: [tcp(443)] },
);

const rule: fc.Arbitrary<Rule> = fc
  .record({
    endpointSelector: fc.constantFrom<EndpointSelector>({}, { matchLabels: { app: 'y' } }, { matchLabels: { tier: 'web' } }),
    ingress: fc.option(fc.array(section, { minLength: 1, maxLength: 2 }), { nil: undefined }),
    egressDeny: fc.option(fc.array(section, { minLength: 1, maxLength: 1 }), { nil: undefined }),
  })
  .map(({ endpointSelector, ingress, egressDeny }): Rule => ({ endpointSelector, ingress: ingress ?? [{}], ...(egressDeny ? { egressDeny } : {}) }));

const policies = fc
  .uniqueArray(fc.record({ name: fc.constantFrom('p', 'q', 'r'), ns: fc.constantFrom<string | null>('a', 'b', null), rule }), {
    maxLength: 5,
    selector: (p) => `${p.ns}/${p.name}`,
  })
  .map((ps) => ps.map(({ name, ns, rule }): PolicyDocument => (ns === null ? ccnp(name, rule) : cnp(ns, name, rule))));

function built(docs: PolicyDocument[], ids: [number, readonly string[]][]): PolicyEngine {
  const engine = new PolicyEngine({ clusterName: CLUSTER });
  engine.transaction((tx) => {
    for (const d of docs) tx.putPolicy(d);
    for (const [id, labels] of ids) tx.addIdentity(id, labels);
    tx.regenerate();
  });
  return engine;
}

function state(engine: PolicyEngine) {
  return {
    policies: [...POD_IDS, 309].map((id) => engine.policyOf(id)),
    stale: engine.stale(),
    selections: engine.selections(),
    prefixes: engine.namedPrefixes(),
  };
}

describe('PolicyEngine.load', () => {
  it('equals one transaction adding the same policies and identities, then changes alike', () => {
    fc.assert(
      fc.property(policies, identities, podLabels, rule, (docs, ids, newcomer, extra) => {
        const loaded = PolicyEngine.load({ clusterName: CLUSTER }, docs, ids);
        const reference = built(docs, ids);
        expect(state(loaded)).toEqual(state(reference));
        // Later units see complete derived state (selector users, reference counts, groups).
        const later = (tx: PolicyTxn) => {
          tx.addIdentity(309, newcomer);
          if (ids.length > CIDR.length) tx.removeIdentity(ids[ids.length - 1]![0]);
          tx.putPolicy(cnp('a', 'p', extra));
          tx.regenerate();
        };
        expect(loaded.transaction(later).changed).toEqual(reference.transaction(later).changed);
        expect(state(loaded)).toEqual(state(reference));
      }),
      { numRuns: 150 },
    );
  });

  it('gives an engine whose transactions still roll back', () => {
    const engine = PolicyEngine.load({ clusterName: CLUSTER }, [cnp('a', 'p', { endpointSelector: {}, ingress: [{ endpoints: [{ matchLabels: { app: 'x' } }] }] })], [[300, pod('a', 'k8s:app=y')]]);
    const before = state(engine);
    expect(() =>
      engine.transaction((tx) => {
        tx.addIdentity(301, pod('a', 'k8s:app=x'));
        throw new Error('storage failed');
      }),
    ).toThrow('storage failed');
    expect(state(engine)).toEqual(before);
    expect(engine.policyOf(300)!.entries.some((e) => e.identity === 301)).toBe(false);
  });
});
