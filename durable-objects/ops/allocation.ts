// Identity allocation for endpoints: filter the labels, take a reference on their identity, and
// charge a new identity to the node that asked for it (a token bucket per node, kept in SQLite so
// that a rolled-back request gives its token back by construction).
import { POD_NAMESPACE_LABEL } from '../../src/core/endpoint-labels.js';
import { DomainError } from '../../src/core/errors.js';
import { identityKeyOf } from '../../src/core/identity-key.js';
import { formatLabelList, type LabelSet } from '../../src/core/labels.js';
import { takeToken } from '../../src/core/token-bucket.js';
import type { ClusterState } from '../cluster-state.js';

/**
 * The node a new identity is charged to: a node token's own node, limited by its bucket; null
 * for the admin (and the control plane's own work), which is not limited.
 */
export type IdentityCharge = string | null;

/** Draws one token from the node's new-identity bucket, or refuses with `rate-limited`. */
function chargeNewIdentity(state: ClusterState, node: string, now: number): void {
  const config = state.config();
  const stored = state.nodes.identityBucket(node);
  const bucket = stored.tokens === null || stored.at === null ? null : { tokens: stored.tokens, at: stored.at };
  const taken = takeToken(bucket, { perSecond: config['node-identity-rate'], burst: config['node-identity-burst'] }, now);
  if (!taken.ok) {
    throw new DomainError(
      'rate-limited',
      `node ${node} allocates new identities faster than ${config['node-identity-rate']}/s (burst ${config['node-identity-burst']}); retry in ${taken.retryAfterSeconds} s`,
      taken.retryAfterSeconds,
    );
  }
  // Written in the caller's transaction: a request that rolls back gives its token back.
  state.nodes.setIdentityBucket(node, taken.state.tokens, taken.state.at);
}

/** Filters a label set and takes a reference on the identity of its identity-relevant part. */
export function acquireIdentity(state: ClusterState, labels: LabelSet, now: number, charge: IdentityCharge) {
  const { identity, information } = state.labelFilter()(labels);
  const namespace = identity.get(POD_NAMESPACE_LABEL)?.value ?? null;
  const key = identityKeyOf(identity);
  const identityLabels = formatLabelList(identity);
  const { id, created } = state.identities.acquire(
    { key, labels: identityLabels, namespace, policyRevision: state.policyRevision() }, now, state.config()['identity-quarantine-seconds'] * 1000,
  );
  if (created && charge !== null) chargeNewIdentity(state, charge, now);
  if (created) {
    state.emit({ type: 'identity-add', id, labels: identityLabels });
    state.policy.addIdentity(id, identityLabels);
  } else if (state.engine.isStale(id)) {
    // Its recompute is still queued: do it now, so the answer carries current policy.
    state.policy.regenerate([id]);
    state.identities.markPolicyCurrent([id], state.policyRevision());
  }
  return { id, sha256: key.sha256, labels: identityLabels, information: formatLabelList(information) };
}
