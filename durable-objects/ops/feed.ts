// Reading the change feed: batches after a revision, or a resync past the compaction horizon.
import { DomainError } from '../../src/core/errors.js';
import type { FeedPage } from '../../src/core/feed.js';
import type { ClusterState } from '../cluster-state.js';

export const MAX_FEED_BATCHES = 1000;

export function readFeed(state: ClusterState, since: number, limit = MAX_FEED_BATCHES): FeedPage {
  if (!Number.isInteger(since) || since < 0) throw new DomainError('invalid-request', 'since: must be a revision (an integer ≥ 0)');
  const revision = state.revision();
  if (since === revision) return { resync: false, revision, batches: [] };
  const oldest = state.feed.oldest();
  // Ahead of the cluster, or behind what the feed still holds: only a snapshot can catch up.
  if (since > revision || oldest === undefined || since + 1 < oldest) return { resync: true, revision };
  return { resync: false, revision, batches: state.feed.after(since, limit) };
}
