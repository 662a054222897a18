// Reads of computed policy: an identity's (or an endpoint's) map entries, connection traces, and
// which identities a policy's selectors select.
import type { IdentityPolicy, PolicyMapEntry, PolicySelectors, TraceAnswer, TraceParty, TraceRequest } from '../../src/api/policies.js';
import { DomainError } from '../../src/core/errors.js';
import { identityKeyOf } from '../../src/core/identity-key.js';
import { completeTraceLabels } from '../../src/core/endpoint-labels.js';
import { formatLabelList, parseClientLabel } from '../../src/core/labels.js';
import { hasOwnPolicy, LOCAL_IDENTITY_SCOPE, type TraceParty as EngineParty } from '../../src/core/policy/engine.js';
import type { PolicyEntry } from '../../src/core/policy/entries.js';
import { encodeIdentityPolicy, encodePolicyEntry } from '../../src/datapath/layout/policy.js';
import { reservedIdentity } from '../../src/core/identity.js';
import { policyRef } from '../../src/core/policy/compile.js';
import type { PolicyKind } from '../../src/core/policy/rule.js';
import type { ClusterState } from '../cluster-state.js';
import { findEndpoint } from './endpoints.js';
import { policyNotFound } from './policies.js';
import { identityPolicyRevision } from './policy-events.js';

const PROTOCOLS = { TCP: 6, UDP: 17, SCTP: 132 } as const;

function toApiEntry(e: ReturnType<typeof encodePolicyEntry>): PolicyMapEntry {
  return {
    key: e.key, value: e.value, identity: e.identity, direction: e.direction, protocol: e.protocol, port: e.port,
    ...(e.endPort === undefined ? {} : { 'end-port': e.endPort }),
    'prefix-length': e.prefixLength, verdict: e.verdict, policies: e.policies,
  };
}

export function identityPolicy(state: ClusterState, id: number): IdentityPolicy {
  const known = reservedIdentity(id) || state.identities.get(id) || state.policies.cidrIdentity(id) !== undefined;
  if (!known) throw new DomainError('identity-not-found', `identity ${id} not found`);
  const policy = hasOwnPolicy(id) ? state.engine.policyOf(id) : undefined;
  if (!policy) {
    throw new DomainError('policy-not-found', `identity ${id} is a reserved or CIDR identity: it has no policy of its own`);
  }
  const encoded = encodeIdentityPolicy(policy);
  return {
    'policy-revision': identityPolicyRevision(state, id),
    'ingress-enforced': encoded.ingressEnforced,
    'egress-enforced': encoded.egressEnforced,
    entries: encoded.entries.map(toApiEntry),
  };
}

const endpointIdentity = (state: ClusterState, node: string, refText: string): number => findEndpoint(state, node, refText).identity;

export function endpointPolicy(state: ClusterState, node: string, refText: string): IdentityPolicy {
  return identityPolicy(state, endpointIdentity(state, node, refText));
}

/** A number no identity has, in the cluster-scoped range, for tracing labels not allocated yet. */
function unusedIdentity(state: ClusterState): number {
  for (let id = LOCAL_IDENTITY_SCOPE - 1; ; id--) if (!state.identities.get(id) && !state.engine.enforcementOf(id)) return id;
}

/** The identity a trace party is (or would be: labels as a create would filter them). */
function resolveParty(state: ClusterState, party: TraceParty): EngineParty {
  if ('identity' in party) {
    const id = party.identity;
    if (!reservedIdentity(id) && !state.identities.get(id) && state.policies.cidrIdentity(id) === undefined) {
      throw new DomainError('identity-not-found', `identity ${id} not found`);
    }
    return { id };
  }
  if ('endpoint' in party) return { id: endpointIdentity(state, party.endpoint.node, party.endpoint.ref) };
  // Traced as the identity an endpoint with these labels gets (cluster and namespace labels added).
  const given = party.labels.map(parseClientLabel);
  const { identity } = state.labelFilter()(completeTraceLabels(given, state.clusterName, (ns) => state.namespaces.labels(ns)));
  const labels = formatLabelList(identity);
  const existing = state.identities.bySha256(identityKeyOf(identity).sha256);
  return existing ? { id: existing.id } : { id: unusedIdentity(state), labels };
}

/** Resolves a trace's parties (inside a transaction); `trace` then runs it outside one. */
export function traceParties(state: ClusterState, req: TraceRequest): { from: EngineParty; to: EngineParty; protocol: number; port: number } {
  const protocol = typeof req.protocol === 'number' ? req.protocol : PROTOCOLS[req.protocol];
  return { from: resolveParty(state, req.from), to: resolveParty(state, req.to), protocol, port: req.port };
}

export function trace(state: ClusterState, t: ReturnType<typeof traceParties>): TraceAnswer {
  const r = state.engine.trace(t.from, t.to, t.protocol, t.port);
  const side = (s: typeof r.egress) => ({ verdict: s.verdict, entry: s.entry && toApiEntry(encodePolicyEntry(s.entry as PolicyEntry)), policies: s.policies });
  return { verdict: r.verdict, from: t.from.id, to: t.to.id, egress: side(r.egress), ingress: side(r.ingress) };
}

const DEFAULT_SELECTOR_IDENTITIES = 100;

/** Each selector of a policy with the identities it selects (at most `limit` each) and their count. */
export function policySelectors(state: ClusterState, kind: PolicyKind, namespace: string | null, name: string, limit?: number): PolicySelectors {
  const ref = policyRef({ namespace, name });
  const selectors = state.policies.get(ref)?.kind === kind ? state.engine.policySelectors(ref, limit ?? DEFAULT_SELECTOR_IDENTITIES) : undefined;
  if (!selectors) throw policyNotFound(kind, namespace, name);
  return { 'policy-revision': state.policyRevision(), selectors };
}
