// One identity's policy as Cilium's repository resolves it (pkg/policy/repository.go,
// rule.go, l4.go; POLICY.md §6, §7): enforcement per direction, the L4 filters of the rules that
// select it, and the identity-0 entries. The entries for each remote identity come from
// `peerSlice`, given which identities each peer selector selects.
import { HOST_IDENTITY } from '../identity.js';
import type { CompiledRule } from './compile.js';
import { INGRESS, PROTO_SCTP, PROTO_TCP, PROTO_UDP, packKey, portProtoKey, type Direction, type PortProtoKey } from './map-key.js';
import { insertEntry, insertLocalhost, type Slice } from './map-state.js';
import { portRangeBlocks } from './port-range.js';
import type { PortProtocolName } from './rule.js';
import { labelValue, labelsHave, POD_NAMESPACE_KEY, selectorMatches, type CompiledSelector, type MatchLabel } from './selector.js';

export { HOST_IDENTITY };

interface Contribution {
  deny: boolean;
  policies: Set<string>;
}

/** An L4Filter: one (port, endPort, protocol) of one direction, its wildcard and per-selector verdicts. */
export interface ResolvedFilter {
  direction: Direction;
  protocol: number;
  port: number;
  endPort: number;
  /** The masked-port keys of the filter (PortRangeToMaskedPorts). */
  keys: PortProtoKey[];
  wildcard: Contribution | null;
  /** Per-identity selectors left after eliding those equal to the wildcard (toMapState). */
  selectors: Map<string, { selector: CompiledSelector; contribution: Contribution }>;
}

export interface ResolvedPolicy {
  enforced: readonly [boolean, boolean];
  filters: ResolvedFilter[];
  /** Entries of identity 0: allow-all of unenforced directions and the filters' wildcards. */
  zero: Slice;
  /** Every selector whose selections get per-identity entries, by key. */
  peerSelectors: Map<string, CompiledSelector>;
}

export interface SubjectIdentity {
  id: number;
  labels: readonly MatchLabel[];
}

const PROTOCOLS: Record<Exclude<PortProtocolName, 'ANY'>, number> = { TCP: PROTO_TCP, UDP: PROTO_UDP, SCTP: PROTO_SCTP };

/** Rules that select the identity (computePolicyEnforcementAndRules' rule matching). */
export function matchingRules(identity: SubjectIdentity, rulesByNamespace: (namespace: string) => Iterable<CompiledRule>, subjectMatches?: (rule: CompiledRule) => boolean): CompiledRule[] {
  // Cilium returns early for anything carrying a `host` label (any source) while the host firewall is off.
  if (identity.id === HOST_IDENTITY || labelsHave(identity.labels, 'host')) return [];
  const matches = subjectMatches ?? ((r: CompiledRule) => selectorMatches(r.subject, identity.labels));
  const out: CompiledRule[] = [];
  for (const r of rulesByNamespace('')) if (matches(r)) out.push(r);
  const namespace = labelValue(identity.labels, POD_NAMESPACE_KEY);
  if (namespace !== '') for (const r of rulesByNamespace(namespace)) if (matches(r)) out.push(r);
  return out;
}

class FilterSet {
  readonly filters = new Map<string, ResolvedFilter>();

  add(direction: Direction, protocol: number, port: number, endPort: number, peers: readonly CompiledSelector[] | 'all', deny: boolean, policy: string | null): void {
    const id = `${direction}/${protocol}/${port}/${endPort}`;
    let f = this.filters.get(id);
    if (!f) {
      const keys = portRangeBlocks(port, endPort).map((b) => portProtoKey(direction, protocol, b.port, b.bits));
      f = { direction, protocol, port, endPort, keys, wildcard: null, selectors: new Map() };
      this.filters.set(id, f);
    }
    const merge = (c: Contribution | null): Contribution => {
      const out = c ?? { deny: false, policies: new Set() };
      out.deny ||= deny;
      if (policy !== null) out.policies.add(policy);
      return out;
    };
    if (peers === 'all' || peers.some((p) => p.wildcard)) {
      f.wildcard = merge(f.wildcard);
      return;
    }
    for (const selector of peers) {
      const have = f.selectors.get(selector.key);
      f.selectors.set(selector.key, { selector, contribution: merge(have?.contribution ?? null) });
    }
  }
}

function addRule(set: FilterSet, rule: CompiledRule, enforced: readonly [boolean, boolean]): void {
  for (const s of rule.sections) {
    if (!enforced[s.direction] || s.peers === null) continue;
    if (s.toPorts.length === 0) {
      if (s.peers.length > 0) set.add(s.direction, 0, 0, 0, s.peers, s.deny, rule.policy);
      continue;
    }
    const peers = s.peers.length === 0 ? 'all' : s.peers;
    for (const pr of s.toPorts) {
      for (const p of pr.ports ?? []) {
        const protocols = p.protocol === 'ANY' ? [PROTO_TCP, PROTO_UDP, PROTO_SCTP] : [PROTOCOLS[p.protocol]];
        for (const proto of protocols) set.add(s.direction, proto, p.port, p.endPort ?? 0, peers, s.deny, rule.policy);
      }
    }
  }
}

/** The selector policy of an identity with the given matching rules. */
export function resolvePolicy(identity: SubjectIdentity, rules: readonly CompiledRule[]): ResolvedPolicy {
  const enforced: [boolean, boolean] = [false, false];
  const defaultDeny: [boolean, boolean] = [false, false];
  if (labelsHave(identity.labels, 'init')) {
    enforced[0] = enforced[1] = defaultDeny[0] = defaultDeny[1] = true;
  } else {
    for (const r of rules) {
      for (const d of [0, 1] as const) {
        if (r.enforces[d]) {
          enforced[d] = true;
          defaultDeny[d] ||= r.defaultDeny[d];
        }
      }
    }
  }
  const set = new FilterSet();
  for (const r of rules) addRule(set, r, enforced);
  // Only default-allow rules: Cilium synthesizes an `all` entity rule (no policy of its own).
  for (const d of [0, 1] as const) if (enforced[d] && !defaultDeny[d]) set.add(d, 0, 0, 0, 'all', false, null);

  const zero: Slice = new Map();
  for (const d of [0, 1] as const) if (!enforced[d]) zero.set(packKey(allKey(d)), { deny: false, policies: new Set() });
  const filters = [...set.filters.values()];
  const peerSelectors = new Map<string, CompiledSelector>();
  for (const f of filters) {
    if (f.wildcard) for (const k of f.keys) insertEntry(zero, null, k, f.wildcard.deny, f.wildcard.policies);
    if (f.wildcard && f.port !== 0) {
      for (const [key, s] of f.selectors) if (s.contribution.deny === f.wildcard.deny) f.selectors.delete(key);
    }
    for (const [key, s] of f.selectors) peerSelectors.set(key, s.selector);
  }
  return { enforced, filters, zero, peerSelectors };
}

function allKey(direction: Direction): PortProtoKey {
  return { direction, protocol: 0, port: 0, portBits: 0 };
}

/** The entries of one remote identity, given which selectors select it. */
export function peerSlice(policy: ResolvedPolicy, peer: number, selects: (selectorKey: string) => boolean): Slice {
  const slice: Slice = new Map();
  for (const f of policy.filters) {
    for (const [key, s] of f.selectors) {
      if (!selects(key)) continue;
      for (const k of f.keys) insertEntry(slice, policy.zero, k, s.contribution.deny, s.contribution.policies);
    }
  }
  if (peer === HOST_IDENTITY) insertLocalhost(slice, allKey(INGRESS));
  return slice;
}
