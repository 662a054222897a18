// The `feed` table: the events of each committed revision, in one or more chunks (rows) of at most
// 1 MiB, with the nodes their targeted events go to; compacted to a horizon.
import { eventsForNode, type FeedBatch, type FeedEvent, type FeedPosition, type FeedTargets } from '../../src/core/feed.js';
import { MAX_PAGE_BYTES, takeWithin } from '../paging.js';

type FeedRow = { revision: number; chunk: number; last: number; events: string; targets: string | null; committed_at: number };

/** One chunk as written: its events as JSON, and the targets of those events (null: none). */
export interface FeedChunk {
  revision: number;
  chunk: number;
  last: boolean;
  events: string;
  targets: string | null;
}

/** A batch's JSON around its events: revision, committed-at, chunk, keys and punctuation. */
export const BATCH_ENVELOPE_BYTES = 96;

/** Rows forgotten by one compaction at most: lowering the horizon never makes one huge delete. */
const MAX_COMPACTED_ROWS = 1024;

/** The batch a reader gets from a chunk: chunk fields only when the revision spans several. */
export function toBatch(revision: number, chunk: number, last: boolean, events: FeedEvent[], committedAt: number): FeedBatch {
  const single = chunk === 0 && last;
  return { revision, events, 'committed-at': committedAt, ...(single ? {} : { chunk }), ...(last ? {} : { last: false as const }) };
}

export class FeedStore {
  constructor(private readonly sql: SqlStorage) {}

  append(c: FeedChunk, now: number): void {
    this.sql.exec(
      'INSERT INTO feed (revision, chunk, last, events, targets, committed_at) VALUES (?, ?, ?, ?, ?, ?)',
      c.revision, c.chunk, c.last ? 1 : 0, c.events, c.targets, now,
    );
  }

  /**
   * Batches from position `from` on, oldest first, as `node` receives them (null: everything): at
   * most `limit`, and no more than about `maxBytes` of events (the first batch whatever its size,
   * unless `atLeastOne` is false), so that a page fits an RPC or a message. A node does not get
   * the chunks that hold nothing for it, except a revision's last (its progress marker).
   */
  after(from: FeedPosition, node: string | null, limit: number, maxBytes = MAX_PAGE_BYTES, atLeastOne = true): FeedBatch[] {
    const rows = this.sql.exec<FeedRow>(
      'SELECT revision, chunk, last, events, targets, committed_at FROM feed WHERE revision > ? OR (revision = ? AND chunk >= ?) ORDER BY revision, chunk',
      from.revision + 1, from.revision + 1, from.chunk,
    );
    return takeWithin(filterRows(rows, node), { limit, maxBytes, atLeastOne, toItem: (r) => r.batch, sizeOf: (_b, r) => r.bytes + BATCH_ENVELOPE_BYTES }).items;
  }

  /**
   * The cluster revision: every committed mutation writes its revision's rows, and compaction
   * keeps at least the latest (the horizon is ≥ 1), so the latest row is the revision; 0 before any.
   */
  latestRevision(): number {
    return this.sql.exec<{ revision: number }>('SELECT revision FROM feed ORDER BY revision DESC LIMIT 1').toArray()[0]?.revision ?? 0;
  }

  /** The oldest revision held whole (compaction may have left the tail of an older one), if any. */
  oldest(): number | undefined {
    return this.sql.exec<{ revision: number }>('SELECT revision FROM feed WHERE chunk = 0 ORDER BY revision LIMIT 1').toArray()[0]?.revision;
  }

  /** Forgets revisions at or below `revision`, the oldest rows first and a bounded number at a time. */
  compact(revision: number): void {
    this.sql.exec(
      'DELETE FROM feed WHERE (revision, chunk) IN (SELECT revision, chunk FROM feed WHERE revision <= ? ORDER BY revision, chunk LIMIT ?)',
      revision, MAX_COMPACTED_ROWS,
    );
  }
}

/** Rows as `node` reads them: filtered events, with their JSON size; empty non-last chunks skipped. */
function* filterRows(rows: Iterable<FeedRow>, node: string | null): Generator<{ batch: FeedBatch; bytes: number }> {
  for (const r of rows) {
    const all = JSON.parse(r.events) as FeedEvent[];
    const events = eventsForNode(all, r.targets === null ? null : (JSON.parse(r.targets) as FeedTargets), node);
    if (events.length === 0 && r.last === 0 && node !== null) continue;
    const bytes = events === all ? r.events.length : JSON.stringify(events).length;
    yield { batch: toBatch(r.revision, r.chunk, r.last === 1, events, r.committed_at), bytes };
  }
}
