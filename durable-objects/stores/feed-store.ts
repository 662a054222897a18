// The `feed` table: one row per committed revision with its events, compacted to a horizon.
import type { FeedBatch, FeedEvent } from '../../src/core/feed.js';

const MAX_PAGE_BYTES = 4 * 1024 * 1024;

export class FeedStore {
  constructor(private readonly sql: SqlStorage) {}

  append(revision: number, events: FeedEvent[], now: number): void {
    this.sql.exec('INSERT INTO feed (revision, events, committed_at) VALUES (?, ?, ?)', revision, JSON.stringify(events), now);
  }

  /**
   * Batches with revision > `since`, oldest first: at most `limit`, and no more than about
   * `maxBytes` of events (always at least one batch), so a page fits an RPC or a message.
   */
  after(since: number, limit: number, maxBytes = MAX_PAGE_BYTES): FeedBatch[] {
    const out: FeedBatch[] = [];
    let bytes = 0;
    const cursor = this.sql.exec<{ revision: number; events: string; committed_at: number }>(
      'SELECT revision, events, committed_at FROM feed WHERE revision > ? ORDER BY revision LIMIT ?',
      since, limit,
    );
    for (const r of cursor) {
      if (out.length > 0 && bytes + r.events.length > maxBytes) break;
      bytes += r.events.length;
      out.push({ revision: r.revision, events: JSON.parse(r.events) as FeedEvent[], 'committed-at': r.committed_at });
    }
    return out;
  }

  /** The oldest revision still held, if any. */
  oldest(): number | undefined {
    return this.sql.exec<{ r: number | null }>('SELECT min(revision) AS r FROM feed').one().r ?? undefined;
  }

  /** Forgets revisions at or below `revision`. */
  compact(revision: number): void {
    this.sql.exec('DELETE FROM feed WHERE revision <= ?', revision);
  }
}
