// Every policy feed event is made here (POLICY-INTEGRATION.md): an identity's complete entries
// (`policy-upsert`) or their end (`policy-delete`), each for the nodes hosting an endpoint of
// the identity, and the CIDR identities' ipcache entries (`prefix-upsert`/`prefix-delete`), for
// every node unless an endpoint holds the same address (its entry wins).
import { encodeIdentityPolicy } from '../../src/datapath/layout/policy.js';
import type { IdentityPolicy } from '../../src/api/node-policy.js';
import type { FeedEvent } from '../../src/core/feed.js';
import type { ClusterState } from '../cluster-state.js';

/** An identity's policy as a node's map holds it (feed event and node snapshot); undefined: none of its own. */
export function identityPolicyOf(state: ClusterState, identity: number): IdentityPolicy | undefined {
  const policy = state.engine.policyOf(identity);
  if (!policy) return undefined;
  const encoded = encodeIdentityPolicy(policy);
  return {
    identity,
    'policy-revision': identityPolicyRevision(state, identity),
    'ingress-enforced': encoded.ingressEnforced,
    'egress-enforced': encoded.egressEnforced,
    entries: encoded.entries.map((e) => ({ key: e.key, value: e.value })),
  };
}

/** An identity's policy as a node's map holds it, or its end when the identity has none (any more). */
export function policyEvent(state: ClusterState, identity: number): FeedEvent {
  const policy = identityPolicyOf(state, identity);
  return policy ? { type: 'policy-upsert', ...policy } : { type: 'policy-delete', identity };
}

/** The revision an identity's policy is computed at: the current one unless a recompute is due. */
export function identityPolicyRevision(state: ClusterState, identity: number): number {
  const row = state.identities.get(identity);
  return row && row.policy_stale === 1 ? row.policy_revision : state.policyRevision();
}

/**
 * The identities whose entries changed, to the nodes hosting them, and the entries of identities
 * nodes newly host (`joined`, unless already sent as changed), to those nodes: once each.
 */
export function emitPolicyChanges(state: ClusterState, changed: readonly number[], joined: readonly { node: string; identity: number }[] = []): void {
  for (const id of changed) state.emitTo(policyEvent(state, id), state.endpoints.nodesHosting(id));
  const sent = new Set(changed);
  for (const { node, identity } of joined) {
    if (sent.has(identity) || !state.engine.enforcementOf(identity) || state.endpoints.countOfIdentityOnNode(node, identity) === 0) continue;
    state.emitTo(policyEvent(state, identity), [node]);
  }
}

/**
 * A node gained its first endpoint of an identity: it needs the identity's entries (sent with the
 * revision). An identity without a policy of its own has none to send (nor does it gain one in
 * this transaction: its policy comes with it, before its endpoints join).
 */
export function endpointJoined(state: ClusterState, node: string, identity: number): void {
  if (!state.engine.enforcementOf(identity)) return;
  if (state.endpoints.countOfIdentityOnNode(node, identity) === 1) state.noteJoined(node, identity);
}

/** A node lost its last endpoint of an identity: it drops the identity's entries (unless it is going away). */
export function endpointLeft(state: ClusterState, node: string, identity: number): void {
  if (state.nodes.isDeleting(node) || !state.engine.enforcementOf(identity)) return;
  if (state.endpoints.countOfIdentityOnNode(node, identity) === 0) state.emitTo({ type: 'policy-delete', identity }, [node]);
}

/**
 * A CIDR identity's prefix, into every node's ipcache, unless an endpoint holds that address: the
 * endpoint's entry wins (Cilium's ipcache: a CIDR-generated entry yields to every other source),
 * so the feed keeps each map equal to the `/ipcache` listing.
 */
export function emitPrefixUpsert(state: ClusterState, prefix: string, identity: number): void {
  if (!state.ipcache.holder(prefix)) state.emit({ type: 'prefix-upsert', prefix, identity });
}

/** A CIDR identity's prefix leaves every node's ipcache, unless an endpoint's entry holds it. */
export function emitPrefixDelete(state: ClusterState, prefix: string): void {
  if (!state.ipcache.holder(prefix)) state.emit({ type: 'prefix-delete', prefix });
}

/** An endpoint's address left the ipcache: a policy's CIDR identity of the same prefix takes its place. */
export function endpointPrefixReleased(state: ClusterState, prefix: string): void {
  const identity = state.policies.cidrIdentityOf(prefix);
  if (identity !== undefined) emitPrefixUpsert(state, prefix, identity);
}
