// The engine against the policy-case oracle (test/fixtures/policy-cases, derived by hand from
// Cilium v1.18's code and tests): each case's subject map (enforcement, entries, hand-computed
// bytes) and traces. The kubectl-shaped policies are turned into the rule model by a strict
// field-for-field mapping that refuses any field it does not know, not by the sanitiser.
import { describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../../../src/core/policy/engine.js';
import type { EndpointSelector, PeerRule, PolicyDocument, PortProtocolName, Rule } from '../../../../src/core/policy/rule.js';
import { encodeIdentityPolicy } from '../../../../src/datapath/layout/policy.js';
import { policyCases, type ExpectedEntry, type FixturePolicy } from '../../../fixtures/policy-cases/index.js';

type Json = Record<string, unknown>;

function onlyKeys(o: Json, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new Error(`${where}: unmapped field ${k}`);
}

function toSection(s: Json, peer: 'from' | 'to'): PeerRule {
  onlyKeys(s, [`${peer}Endpoints`, `${peer}Entities`, `${peer}CIDR`, `${peer}CIDRSet`, 'toPorts'], 'section');
  const out: PeerRule = {};
  if (s[`${peer}Endpoints`] !== undefined) out.endpoints = s[`${peer}Endpoints`] as EndpointSelector[];
  if (s[`${peer}Entities`] !== undefined) out.entities = s[`${peer}Entities`] as PeerRule['entities'];
  if (s[`${peer}CIDR`] !== undefined) out.cidr = s[`${peer}CIDR`] as string[];
  if (s[`${peer}CIDRSet`] !== undefined) out.cidrSet = s[`${peer}CIDRSet`] as PeerRule['cidrSet'];
  if (s.toPorts !== undefined) {
    out.toPorts = (s.toPorts as Json[]).map((pr) => {
      onlyKeys(pr, ['ports'], 'toPorts');
      if (pr.ports === undefined) return {};
      return {
        ports: (pr.ports as Json[]).map((p) => {
          onlyKeys(p, ['port', 'endPort', 'protocol'], 'ports');
          const port = { port: Number(p.port), protocol: ((p.protocol as string | undefined) ?? 'ANY').toUpperCase() as PortProtocolName };
          return p.endPort === undefined ? port : { ...port, endPort: p.endPort as number };
        }),
      };
    });
  }
  return out;
}

function toRule(spec: Json): Rule {
  onlyKeys(spec, ['endpointSelector', 'ingress', 'ingressDeny', 'egress', 'egressDeny', 'enableDefaultDeny', 'description'], 'spec');
  const rule: Rule = { endpointSelector: spec.endpointSelector as EndpointSelector };
  for (const d of ['ingress', 'ingressDeny'] as const) if (spec[d] !== undefined) rule[d] = (spec[d] as Json[]).map((s) => toSection(s, 'from'));
  for (const d of ['egress', 'egressDeny'] as const) if (spec[d] !== undefined) rule[d] = (spec[d] as Json[]).map((s) => toSection(s, 'to'));
  if (spec.enableDefaultDeny !== undefined) rule.enableDefaultDeny = spec.enableDefaultDeny as Rule['enableDefaultDeny'];
  return rule;
}

function toDocument(p: FixturePolicy): PolicyDocument {
  const rules = [...(p.spec ? [p.spec] : []), ...(p.specs ?? [])].map(toRule);
  return { kind: p.kind, namespace: p.kind === 'CiliumNetworkPolicy' ? p.metadata.namespace! : null, name: p.metadata.name, rules };
}

const entryText = (e: Pick<ExpectedEntry, 'direction' | 'identity' | 'protocol' | 'port' | 'prefixLength' | 'verdict'>) =>
  `${e.direction} id=${e.identity} proto=${e.protocol} port=${e.port} P=${e.prefixLength} ${e.verdict}`;

describe('policy-case oracle', () => {
  it.each(policyCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const engine = new PolicyEngine({ clusterName: c.cluster });
    engine.transaction((tx) => {
      for (const i of c.identities) tx.addIdentity(i.id, i.labels);
      for (const p of c.policies) tx.putPolicy(toDocument(p));
      tx.regenerate();
    });
    const got = encodeIdentityPolicy(engine.policyOf(c.subject)!);
    expect({ ingressEnforced: got.ingressEnforced, egressEnforced: got.egressEnforced, entries: got.entries.map(entryText).sort() }).toEqual({
      ingressEnforced: c.expect.ingressEnforced,
      egressEnforced: c.expect.egressEnforced,
      entries: c.expect.entries.map(entryText).sort(),
    });
    for (const e of c.expect.entries.filter((x) => x.keyHex)) {
      expect(got.entries.find((g) => entryText(g) === entryText(e))).toMatchObject({ key: e.keyHex, ...(e.valueHex ? { value: e.valueHex } : {}) });
    }
    for (const t of c.trace ?? []) expect({ ...t, verdict: engine.trace({ id: t.from }, { id: t.to }, t.protocol, t.port).verdict }).toEqual(t);
  });
});
