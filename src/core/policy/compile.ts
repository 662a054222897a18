// A sanitised policy document compiled once into what the engine evaluates: per rule, the subject
// selector, the enforcement facts of Cilium's Rule.Sanitize, and each section's peer selectors
// (namespace-scoped, entities and CIDRs expanded); plus every prefix the policy names.
import { canonicalPrefix, sectionPeers, subjectMatchesInit, subjectSelector } from './peers.js';
import type { PeerRule, PolicyDocument, PortRule, Rule } from './rule.js';
import { compileSelector, extendSelector, type CompiledSelector } from './selector.js';
import { EGRESS, INGRESS, type Direction } from './map-key.js';

export interface CompiledSection {
  direction: Direction;
  deny: boolean;
  /** null: selects nothing (an explicitly empty peer list). */
  peers: CompiledSelector[] | null;
  toPorts: readonly PortRule[];
}

export interface CompiledRule {
  /** The owning policy's reference (policyRef). */
  policy: string;
  /** The CNP's namespace; '' for a CCNP (Cilium's rulesByNamespace key). */
  namespace: string;
  subject: CompiledSelector;
  /** Whether the rule has an ingress/ingressDeny (egress/egressDeny) section: it enforces that direction. */
  enforces: readonly [boolean, boolean];
  /** enableDefaultDeny per direction, defaulted as Rule.Sanitize does. */
  defaultDeny: readonly [boolean, boolean];
  sections: readonly CompiledSection[];
}

export interface CompiledPolicy {
  ref: string;
  rules: readonly CompiledRule[];
  /** Every prefix the policy names, excepts included, masked and deduplicated (GetCIDRPrefixes). */
  prefixes: readonly string[];
}

/** STABLE FORMAT — how entries and traces name a policy: `namespace/name` for a CNP, `name` for a CCNP. */
export function policyRef(doc: Pick<PolicyDocument, 'namespace' | 'name'>): string {
  return doc.namespace === null ? doc.name : `${doc.namespace}/${doc.name}`;
}

function nonEmpty(list: readonly unknown[] | undefined): boolean {
  return list !== undefined && list.length > 0;
}

function compileRule(rule: Rule, doc: PolicyDocument, clusterName: string): CompiledRule {
  const userSubject = extendSelector(rule.endpointSelector);
  const subjectIsInit = subjectMatchesInit(userSubject);
  const enforces = [nonEmpty(rule.ingress) || nonEmpty(rule.ingressDeny), nonEmpty(rule.egress) || nonEmpty(rule.egressDeny)] as const;
  const defaultDeny = [rule.enableDefaultDeny?.ingress ?? enforces[0], rule.enableDefaultDeny?.egress ?? enforces[1]] as const;
  const sections: CompiledSection[] = [];
  const add = (list: PeerRule[] | undefined, direction: Direction, deny: boolean) => {
    for (const section of list ?? []) {
      const peers = sectionPeers(section, doc.namespace, subjectIsInit, clusterName);
      sections.push({ direction, deny, peers: peers && peers.map(compileSelector), toPorts: section.toPorts ?? [] });
    }
  };
  add(rule.ingress, INGRESS, false);
  add(rule.ingressDeny, INGRESS, true);
  add(rule.egress, EGRESS, false);
  add(rule.egressDeny, EGRESS, true);
  return {
    policy: policyRef(doc),
    namespace: doc.namespace ?? '',
    subject: compileSelector(subjectSelector(userSubject, doc.namespace)),
    enforces,
    defaultDeny,
    sections,
  };
}

function namedPrefixes(rules: readonly Rule[]): string[] {
  const out = new Set<string>();
  const add = (text: string) => {
    const p = canonicalPrefix(text);
    if (p) out.add(p);
  };
  for (const rule of rules) {
    for (const section of [...(rule.ingress ?? []), ...(rule.ingressDeny ?? []), ...(rule.egress ?? []), ...(rule.egressDeny ?? [])]) {
      for (const c of section.cidr ?? []) add(c);
      for (const r of section.cidrSet ?? []) {
        add(r.cidr);
        for (const e of r.except ?? []) add(e);
      }
    }
  }
  return [...out].sort();
}

export function compilePolicy(doc: PolicyDocument, clusterName: string): CompiledPolicy {
  return { ref: policyRef(doc), rules: doc.rules.map((r) => compileRule(r, doc, clusterName)), prefixes: namedPrefixes(doc.rules) };
}
