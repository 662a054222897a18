// The change feed over hibernating WebSockets, with flow control by acknowledgement. Workers'
// WebSocket has no `bufferedAmount`, so the DO counts what each socket was sent and has not
// acknowledged (`{"ack": R}`), and sends no more than MAX_UNACKED_BYTES ahead: the rest waits in
// the feed table and goes out as acks arrive (the catch-up from an old `since` included). A
// consumer that holds unacknowledged data while the cluster moves on by more than
// min(MAX_STALLED_REVISIONS, feed horizon) revisions is told to resync and disconnected.
// Progress lives in memory and is written to the socket's attachment now and then: after
// hibernation a socket resumes from its last attachment, and re-sent batches are harmless
// (agents skip revisions they applied).
import type { FeedBatch } from '../src/core/feed.js';
import type { ClusterState } from './cluster-state.js';
import { readFeed } from './ops/feed.js';

/** Bytes a socket may have been sent without acknowledging them. */
export const MAX_UNACKED_BYTES = 2 * 1024 * 1024;
/** Revisions committed since a consumer's last ack, while it holds unacknowledged data, before it is cut off. */
export const MAX_STALLED_REVISIONS = 10_000;
/** Revisions of progress between attachment writes. */
const ATTACHMENT_EVERY = 64;

/** What a socket's attachment holds (STABLE FORMAT: it survives deployments with the socket). */
export interface SocketProgress {
  node: string | null;
  sent: number;
  acked: number;
}

interface LiveProgress extends SocketProgress {
  saved: number;
  /** Messages sent and not yet acknowledged: the last revision of each and its size. */
  unacked: { revision: number; bytes: number }[];
  unackedBytes: number;
  /** The cluster revision when the consumer last acknowledged (or connected). */
  revisionAtAck: number;
}

export class FeedSockets {
  private readonly progress = new Map<WebSocket, LiveProgress>();

  constructor(private readonly state: ClusterState) {}

  private of(ws: WebSocket): LiveProgress {
    let p = this.progress.get(ws);
    if (!p) {
      const a = ws.deserializeAttachment() as SocketProgress;
      p = { node: a.node, sent: a.sent, acked: a.acked, saved: a.sent, unacked: [], unackedBytes: 0, revisionAtAck: this.state.revision() };
      this.progress.set(ws, p);
    }
    return p;
  }

  private save(ws: WebSocket, p: LiveProgress, force = false): void {
    if (!force && p.sent - p.saved < ATTACHMENT_EVERY) return;
    ws.serializeAttachment({ node: p.node, sent: p.sent, acked: p.acked });
    p.saved = p.sent;
  }

  /** A new subscriber from revision `since`: sends the first part of its backlog. */
  accept(ws: WebSocket, node: string | null, since: number): void {
    ws.serializeAttachment({ node, sent: since, acked: since });
    this.pump(ws);
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

  /** Sends a message ending at `revision`, counting it as unacknowledged. */
  private sendCounted(ws: WebSocket, p: LiveProgress, message: string, revision: number): boolean {
    if (!this.send(ws, message)) return false;
    p.sent = revision;
    p.unacked.push({ revision, bytes: message.length });
    p.unackedBytes += message.length;
    return true;
  }

  private room(p: LiveProgress): number {
    return MAX_UNACKED_BYTES - p.unackedBytes;
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
  private pump(ws: WebSocket): void {
    const p = this.of(ws);
    for (;;) {
      const page = readFeed(this.state, p.sent, { maxBytes: this.room(p), atLeastOne: p.unackedBytes === 0 });
      if (page.resync) return this.resync(ws, page.revision);
      if (page.batches.length === 0) break;
      const last = page.batches[page.batches.length - 1]!.revision;
      if (!this.sendCounted(ws, p, JSON.stringify(page), last)) return;
      if (last >= page.revision) break;
    }
    this.save(ws, p, true);
  }

  /** Pushes a freshly committed batch to every socket; the message is serialised once. */
  fanOut(sockets: WebSocket[], batch: FeedBatch): void {
    const message = JSON.stringify({ resync: false, revision: batch.revision, batches: [batch] });
    const maxStalled = Math.min(MAX_STALLED_REVISIONS, this.state.config()['feed-horizon-revisions']);
    for (const ws of sockets) {
      if (ws.readyState !== WebSocket.READY_STATE_OPEN) continue;
      const p = this.of(ws);
      if (p.sent >= batch.revision) continue;
      if (p.unackedBytes > 0 && batch.revision - p.revisionAtAck > maxStalled) {
        this.resync(ws, batch.revision);
        continue;
      }
      if (p.sent !== batch.revision - 1) {
        // Behind (catching up, or paused by its window): the feed table has this batch.
        if (p.unackedBytes < MAX_UNACKED_BYTES) this.pump(ws);
        continue;
      }
      if (p.unackedBytes > 0 && message.length > this.room(p)) continue; // paused: acks resume it
      if (!this.sendCounted(ws, p, message, batch.revision)) continue;
      this.save(ws, p);
    }
  }

  /** Handles an agent's `{"ack": revision}`: frees its window and sends what now fits. */
  acknowledge(ws: WebSocket, message: string | ArrayBuffer): void {
    if (typeof message !== 'string') return;
    let ack: unknown;
    try {
      ack = (JSON.parse(message) as { ack?: unknown }).ack;
    } catch {
      return;
    }
    const p = this.of(ws);
    if (!Number.isInteger(ack) || (ack as number) <= p.acked || (ack as number) > p.sent) return;
    p.acked = ack as number;
    p.revisionAtAck = this.state.revision();
    while (p.unacked.length > 0 && p.unacked[0]!.revision <= p.acked) p.unackedBytes -= p.unacked.shift()!.bytes;
    this.pump(ws);
  }

  forget(ws: WebSocket): void {
    this.progress.delete(ws);
  }
}
