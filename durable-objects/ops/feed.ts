// Reading the change feed: batches after a position, as one reader sees them, or a resync past
// the compaction horizon.
import { DomainError } from '../../src/core/errors.js';
import type { FeedPage } from '../../src/core/feed.js';
import type { ClusterState } from '../cluster-state.js';
import { MAX_PAGE_BYTES } from '../paging.js';

export const MAX_FEED_BATCHES = 1000;

export interface FeedReadLimits {
  /** Batches at most. */
  limit?: number;
  /** About this many bytes of events at most (a page, or a socket's free window). */
  maxBytes?: number;
  /** Take the first batch whatever its size (see FeedStore.after). */
  atLeastOne?: boolean;
}

export interface FeedReader {
  /** Chunks of revision `since + 1` the reader already holds (0: none). */
  chunk?: number;
  /** The node whose events to read (null or absent: admin and reader principals, every event). */
  node?: string | null;
}

export function readFeed(state: ClusterState, since: number, limits: FeedReadLimits = {}, reader: FeedReader = {}): FeedPage {
  if (!Number.isInteger(since) || since < 0) throw new DomainError('invalid-request', 'since: must be a revision (an integer ≥ 0)');
  const chunk = reader.chunk ?? 0;
  if (!Number.isInteger(chunk) || chunk < 0) throw new DomainError('invalid-request', 'chunk: must be a chunk index (an integer ≥ 0)');
  const revision = state.revision();
  if (since === revision) return { resync: false, revision, batches: [] };
  const oldest = state.feed.oldest();
  // Ahead of the cluster, or behind what the feed still holds: only a snapshot can catch up.
  if (since > revision || oldest === undefined || since + 1 < oldest) return { resync: true, revision };
  const batches = state.feed.after({ revision: since, chunk }, reader.node ?? null, limits.limit ?? MAX_FEED_BATCHES, limits.maxBytes ?? MAX_PAGE_BYTES, limits.atLeastOne ?? true);
  return { resync: false, revision, batches };
}
