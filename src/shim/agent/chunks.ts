// Reassembling chunked revisions: a revision larger than 1 MiB reaches the agent as several
// batches (`chunk`, `last: false` on all but the last), and is applied only once complete.
import type { FeedBatch, FeedEvent } from '../../core/feed.js';

interface Partial {
  revision: number;
  /** The chunk index after the last one received. */
  next: number;
  events: FeedEvent[];
}

export class RevisionAssembler {
  private partial: Partial | undefined;

  /**
   * Takes the next batch (of a revision after the applied one) and answers the complete revision
   * once its last chunk arrived. Indices may skip (a node is not sent chunks holding nothing for
   * it); a chunk already held (re-sent after the control plane hibernated) is ignored.
   */
  add(batch: FeedBatch): FeedBatch | undefined {
    const index = batch.chunk ?? 0;
    if (this.partial?.revision === batch.revision && index < this.partial.next) return undefined;
    // A new revision: anything held of another one cannot complete any more (a new session resent it).
    if (this.partial?.revision !== batch.revision) this.partial = { revision: batch.revision, next: 0, events: [] };
    const partial = this.partial;
    partial.events.push(...batch.events);
    partial.next = index + 1;
    if (batch.last === false) return undefined;
    this.partial = undefined;
    return { revision: batch.revision, events: partial.events, ...(batch['committed-at'] === undefined ? {} : { 'committed-at': batch['committed-at'] }) };
  }

  /** Chunks held of the revision after `applied` (what a long-poll or an ack reports). */
  held(applied: number): number {
    return this.partial?.revision === applied + 1 ? this.partial.next : 0;
  }

  /** Forgets a partial revision: a new feed session sends it again from its first chunk. */
  reset(): void {
    this.partial = undefined;
  }
}
