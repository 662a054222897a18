// The change feed over hibernating WebSockets, with flow control by acknowledgement. Workers'
// WebSocket has no `bufferedAmount`, so the DO counts what each socket was sent and has not
// acknowledged (`{"ack": R}`, or `{"ack": R, "chunk": N}` once chunks below N of revision R + 1
// arrived), and sends no more than MAX_UNACKED_BYTES ahead, in messages of at most 1 MiB: the rest waits in
// the feed table and goes out as acks arrive (the catch-up from an old `since` included). A
// consumer that holds unacknowledged data while the cluster moves on by more than
// min(MAX_STALLED_REVISIONS, feed horizon) revisions is told to resync and disconnected.
// Progress lives in memory and is written to the socket's attachment now and then (not at every
// send or ack): after hibernation a socket resumes from its last attachment, and re-sent batches
// are harmless (agents skip revisions and chunks they hold). A node's socket carries only that
// node's events (targeted events filtered, empty chunks left out but every revision's last: its
// progress marker). Commits are pushed on a later turn of the event loop than the committing
// request's, so its answer does not wait for a send per socket; each chunk is serialised once per
// distinct view of it, not once per socket.
import { comparePositions, eventsForNode, excludedForNode, positionAfter, type FeedMessage, type FeedPage, type FeedPosition } from '../src/core/feed.js';
import { MAX_FEED_BATCH_BYTES, type CommittedChunk, type ClusterState } from './cluster-state.js';
import { MAX_GROUP_SIZE } from './commit-group.js';
import { readFeed } from './ops/feed.js';
import { toBatch } from './stores/feed-store.js';

/** Bytes a socket may have been sent without acknowledging them. */
export const MAX_UNACKED_BYTES = 2 * 1024 * 1024;
/** Revisions committed since a consumer's last ack, while it holds unacknowledged data, before it is cut off. */
export const MAX_STALLED_REVISIONS = 10_000;
/** Revisions of progress between attachment writes. */
const ATTACHMENT_EVERY = 64;
/** A page message's JSON around its batches. */
const PAGE_ENVELOPE_BYTES = 256;
/**
 * Committed chunks (each ≤ 1 MiB) held for the next push before they are pushed at once: two full
 * commit groups' worth, so that a group's chunks wait for the push, not its answers.
 */
const MAX_PENDING_CHUNKS = 2 * MAX_GROUP_SIZE;

/** What a socket's attachment holds (STABLE FORMAT: it survives deployments with the socket). */
export interface SocketProgress {
  node: string | null;
  sent: number;
  acked: number;
  /** Chunks of revision `sent + 1` sent (absent: 0). */
  'sent-chunk'?: number;
  'acked-chunk'?: number;
}

interface LiveProgress {
  node: string | null;
  sent: FeedPosition;
  acked: FeedPosition;
  saved: number;
  /** Messages sent and not yet acknowledged: the position after each and its size. */
  unacked: { end: FeedPosition; bytes: number }[];
  unackedBytes: number;
  /** The cluster revision when the consumer last acknowledged (or connected). */
  revisionAtAck: number;
}

export class FeedSockets {
  private readonly progress = new Map<WebSocket, LiveProgress>();
  /** Committed chunks not yet pushed, in commit order. */
  private pending: CommittedChunk[] = [];
  private pushScheduled = false;

  /**
   * `sockets` lists the object's feed sockets (its accepted WebSockets); `ackWanted` tells whether
   * a create waits for the nodes (messages then carry `"ack-now": true`, as agents ack lazily).
   */
  constructor(
    private readonly state: ClusterState,
    private readonly sockets: () => WebSocket[],
    private readonly ackWanted: () => boolean = () => false,
  ) {}

  /** A page as a socket message: asking for an ack at once while a create waits for the nodes. */
  private message(page: FeedPage): string {
    return JSON.stringify(this.ackWanted() ? ({ ...page, 'ack-now': true } satisfies FeedMessage) : page);
  }

  private of(ws: WebSocket): LiveProgress {
    let p = this.progress.get(ws);
    if (!p) {
      const a = ws.deserializeAttachment() as SocketProgress;
      p = {
        node: a.node,
        sent: { revision: a.sent, chunk: a['sent-chunk'] ?? 0 },
        acked: { revision: a.acked, chunk: a['acked-chunk'] ?? 0 },
        saved: a.sent,
        unacked: [],
        unackedBytes: 0,
        revisionAtAck: this.state.revision(),
      };
      this.progress.set(ws, p);
    }
    return p;
  }

  private save(ws: WebSocket, p: LiveProgress, force = false): void {
    if (!force && p.sent.revision - p.saved < ATTACHMENT_EVERY) return;
    const progress: SocketProgress = { node: p.node, sent: p.sent.revision, acked: p.acked.revision, 'sent-chunk': p.sent.chunk, 'acked-chunk': p.acked.chunk };
    ws.serializeAttachment(progress);
    p.saved = p.sent.revision;
  }

  /** A new subscriber from revision `since`: sends the first part of its backlog. */
  accept(ws: WebSocket, node: string | null, since: number): void {
    ws.serializeAttachment({ node, sent: since, acked: since } satisfies SocketProgress);
    const p = this.of(ws);
    this.pump(ws, p);
    this.save(ws, p, true);
  }

  /** Sends unless the socket is closing or closed (a cut-off consumer that has not answered yet). */
  private send(ws: WebSocket, message: string): boolean {
    if (ws.readyState !== WebSocket.READY_STATE_OPEN) return false;
    try {
      ws.send(message);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends a message ending at position `end`, counting it as unacknowledged. */
  private sendCounted(ws: WebSocket, p: LiveProgress, message: string, end: FeedPosition): boolean {
    if (!this.send(ws, message)) return false;
    p.sent = end;
    p.unacked.push({ end, bytes: message.length });
    p.unackedBytes += message.length;
    return true;
  }

  /** Bytes of events the next message may carry: the free window, and never over one message. */
  private room(p: LiveProgress): number {
    return Math.min(MAX_UNACKED_BYTES - p.unackedBytes, MAX_FEED_BATCH_BYTES - PAGE_ENVELOPE_BYTES);
  }

  private resync(ws: WebSocket, revision: number): void {
    this.send(ws, JSON.stringify({ resync: true, revision }));
    this.close(ws, 4000, 'resync');
  }

  /** Closes a socket (idempotently) and forgets its progress. */
  close(ws: WebSocket, code: number, reason: string): void {
    this.progress.delete(ws);
    if (ws.readyState !== WebSocket.READY_STATE_OPEN) return;
    try {
      ws.close(code, reason);
    } catch {
      // already closing
    }
  }

  /**
   * Sends from the feed table what fits in the socket's window: a socket behind the head (new, or
   * one that was paused), one page per message. The first message goes out whatever its size
   * when nothing is unacknowledged, so that a large batch still moves the consumer on.
   */
  private pump(ws: WebSocket, p = this.of(ws)): void {
    for (;;) {
      const page = readFeed(this.state, p.sent.revision, { maxBytes: this.room(p), atLeastOne: p.unackedBytes === 0 }, { chunk: p.sent.chunk, node: p.node });
      if (page.resync) return this.resync(ws, page.revision);
      if (page.batches.length === 0) break;
      const end = positionAfter(page.batches[page.batches.length - 1]!);
      if (!this.sendCounted(ws, p, this.message(page), end)) return;
      if (end.revision >= page.revision) break;
    }
    this.save(ws, p);
  }

  /**
   * Takes freshly committed chunks (in commit order) and pushes them to the sockets on a later
   * turn of the event loop, unless MAX_PENDING_CHUNKS wait already. Each send is still held by
   * the output gate until its commit is durable; a socket that reads the feed table meanwhile (a
   * new one, or an ack that frees its window) gets them from there, and the push then skips it.
   */
  publish(chunks: CommittedChunk[]): void {
    this.pending.push(...chunks);
    if (this.pending.length >= MAX_PENDING_CHUNKS) return this.push();
    if (this.pushScheduled) return;
    this.pushScheduled = true;
    setTimeout(() => {
      this.pushScheduled = false;
      this.push();
    }, 0);
  }

  /** Pushes the pending chunks; a failure loses nothing: the sockets catch up from the feed table. */
  private push(): void {
    const chunks = this.pending;
    this.pending = [];
    if (chunks.length === 0) return;
    try {
      const sockets = this.sockets();
      if (sockets.length > 0) for (const chunk of chunks) this.fanOut(sockets, chunk);
    } catch (e) {
      console.error('feed fan-out failed', e);
    }
  }

  /**
   * Pushes a committed chunk to every socket: its message is serialised once per distinct view
   * (the events a node does not receive; admin readers see all). A node for which the chunk holds
   * nothing moves past it, unless it is the revision's last chunk: that one it gets, if empty, as
   * a progress marker.
   */
  private fanOut(sockets: WebSocket[], chunk: CommittedChunk): void {
    const start: FeedPosition = { revision: chunk.revision - 1, chunk: chunk.chunk };
    const end = positionAfter({ revision: chunk.revision, chunk: chunk.chunk, ...(chunk.last ? {} : { last: false }) });
    const byNode = new Map<string | null, string | null>();
    const byView = new Map<string, string | null>();
    const messageFor = (node: string | null): string | null => {
      if (byNode.has(node)) return byNode.get(node)!;
      const view = node === null ? 'reader' : excludedForNode(chunk.targets, node).join();
      if (!byView.has(view)) {
        const events = eventsForNode(chunk.events, chunk.targets, node);
        const skip = node !== null && events.length === 0 && !chunk.last;
        const batch = toBatch(chunk.revision, chunk.chunk, chunk.last, events, chunk.committedAt);
        byView.set(view, skip ? null : this.message({ resync: false, revision: chunk.revision, batches: [batch] }));
      }
      byNode.set(node, byView.get(view)!);
      return byView.get(view)!;
    };
    const maxStalled = Math.min(MAX_STALLED_REVISIONS, this.state.config()['feed-horizon-revisions']);
    for (const ws of sockets) {
      if (ws.readyState !== WebSocket.READY_STATE_OPEN) continue;
      const p = this.of(ws);
      if (comparePositions(p.sent, end) >= 0) continue;
      if (p.unackedBytes > 0 && chunk.revision - p.revisionAtAck > maxStalled) {
        this.resync(ws, chunk.revision);
        continue;
      }
      if (comparePositions(p.sent, start) < 0) {
        // Behind (catching up, or paused by its window): the feed table has this chunk.
        if (p.unackedBytes < MAX_UNACKED_BYTES) this.pump(ws);
        continue;
      }
      const message = messageFor(p.node);
      if (message === null) {
        p.sent = end; // nothing for this node in this chunk
        continue;
      }
      if (p.unackedBytes > 0 && message.length > MAX_UNACKED_BYTES - p.unackedBytes) continue; // paused: acks resume it
      if (!this.sendCounted(ws, p, message, end)) continue;
      this.save(ws, p);
    }
  }

  /**
   * Handles an agent's `{"ack": revision, "chunk"?: n}`: frees its window and sends what now fits.
   * Returns the node and the revision it has applied when the ack moved it on.
   */
  acknowledge(ws: WebSocket, message: string | ArrayBuffer): { node: string | null; revision: number } | undefined {
    if (typeof message !== 'string') return undefined;
    let parsed: { ack?: unknown; chunk?: unknown };
    try {
      parsed = JSON.parse(message) as { ack?: unknown; chunk?: unknown };
    } catch {
      return undefined;
    }
    const chunk = parsed.chunk ?? 0;
    if (!Number.isInteger(parsed.ack) || !Number.isInteger(chunk) || (chunk as number) < 0) return undefined;
    const ack: FeedPosition = { revision: parsed.ack as number, chunk: chunk as number };
    const p = this.of(ws);
    if (comparePositions(ack, p.acked) <= 0 || comparePositions(ack, p.sent) > 0) return undefined;
    p.acked = ack;
    p.revisionAtAck = this.state.revision();
    while (p.unacked.length > 0 && comparePositions(p.unacked[0]!.end, ack) <= 0) p.unackedBytes -= p.unacked.shift()!.bytes;
    // At the head (the usual ack) nothing waits in the feed table for this socket.
    if (comparePositions(p.sent, { revision: this.state.revision(), chunk: 0 }) < 0) this.pump(ws, p);
    return { node: p.node, revision: ack.revision };
  }

  forget(ws: WebSocket): void {
    this.progress.delete(ws);
  }
}
