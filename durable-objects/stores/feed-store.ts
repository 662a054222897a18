// The `feed` table: one row per committed revision with its events, compacted to a horizon.
import type { FeedBatch } from '../../src/core/feed.js';
import { MAX_PAGE_BYTES, takeWithin } from '../paging.js';

type FeedRow = { revision: number; events: string; committed_at: number };

/** A batch's JSON around its events: revision, committed-at, keys and punctuation. */
const BATCH_ENVELOPE_BYTES = 64;

/** Rows forgotten by one compaction at most: lowering the horizon never makes one huge delete. */
const MAX_COMPACTED_ROWS = 1024;

export class FeedStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Appends a revision; `events` is the JSON array of its FeedEvents. */
  append(revision: number, events: string, now: number): void {
    this.sql.exec('INSERT INTO feed (revision, events, committed_at) VALUES (?, ?, ?)', revision, events, now);
  }

  /**
   * Batches with revision > `since`, oldest first: at most `limit`, and no more than about
   * `maxBytes` of events (the first batch whatever its size, unless `atLeastOne` is false), so
   * that a page fits an RPC or a message.
   */
  after(since: number, limit: number, maxBytes = MAX_PAGE_BYTES, atLeastOne = true): FeedBatch[] {
    const rows = this.sql.exec<FeedRow>('SELECT revision, events, committed_at FROM feed WHERE revision > ? ORDER BY revision LIMIT ?', since, limit);
    return takeWithin(rows, {
      limit,
      maxBytes,
      atLeastOne,
      toItem: (r): FeedBatch => ({ revision: r.revision, events: JSON.parse(r.events) as FeedBatch['events'], 'committed-at': r.committed_at }),
      sizeOf: (_batch, r) => r.events.length + BATCH_ENVELOPE_BYTES,
    }).items;
  }

  /** The oldest revision still held, if any. */
  oldest(): number | undefined {
    return this.sql.exec<{ r: number | null }>('SELECT min(revision) AS r FROM feed').one().r ?? undefined;
  }

  /** Forgets revisions at or below `revision`, the oldest first and a bounded number at a time. */
  compact(revision: number): void {
    this.sql.exec(
      'DELETE FROM feed WHERE revision IN (SELECT revision FROM feed WHERE revision <= ? ORDER BY revision LIMIT ?)',
      revision, MAX_COMPACTED_ROWS,
    );
  }
}
