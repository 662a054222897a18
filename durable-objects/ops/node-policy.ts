// A node's policy snapshot: the policy of every identity with an endpoint on the node, paged by
// count and bytes, each page continuing from the previous one's identity. All pages answer the
// revision of the first: a node that loads them and then follows the feed from that revision
// converges, since `policy-upsert` replaces an identity's entries whole.
import type { IdentityPolicy, NodePolicy } from '../../src/api/node-policy.js';
import { DomainError } from '../../src/core/errors.js';
import type { ClusterState } from '../cluster-state.js';
import { decodeCursor, takePage } from '../paging.js';

const DEFAULT_LIMIT = 100;

interface Position {
  revision: number;
  identity: number;
}

const isPosition = (v: unknown): v is Position =>
  typeof v === 'object' && v !== null && Number.isInteger((v as Position).revision) && Number.isInteger((v as Position).identity);

export function getNodePolicy(state: ClusterState, node: string, args: { limit?: number; cursor?: string }): NodePolicy {
  if (!state.nodes.exists(node)) throw new DomainError('node-not-found', `node ${JSON.stringify(node)} not found`);
  const from = args.cursor === undefined ? { revision: state.revision(), identity: 0 } : decodeCursor(args.cursor, isPosition);
  // A cursor names a revision the cluster has reached: a node told a later one would wait for it.
  if (from.revision < 0 || from.revision > state.revision() || from.identity < 0) throw new DomainError('invalid-cursor', 'cursor is not one this API issued');
  const { items, ...next } = takePage(policiesOf(state, node, from.identity), args.limit ?? DEFAULT_LIMIT, (p) => p, (p) => ({ revision: from.revision, identity: p.identity }));
  return { revision: from.revision, identities: items, ...next };
}

/** The policies of the node's identities after `after`, lazily (identities without one skipped). */
function* policiesOf(state: ClusterState, node: string, after: number): Generator<IdentityPolicy> {
  for (const identity of state.endpoints.identitiesOnNode(node, after)) {
    const policy = state.policySnapshot.policyOf(identity);
    if (policy !== undefined) yield policy;
  }
}
