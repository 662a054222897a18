// The change feed over hibernating WebSockets. For each socket the DO tracks the last revision
// sent and the last one the agent acknowledged; a consumer too far behind is cut off with a
// resync instead of letting its backlog grow. Progress lives in memory and is written to the
// socket's attachment only now and then: after hibernation a socket resumes from its last
// attachment, and re-sent batches are harmless (agents skip revisions they applied).
import type { FeedBatch } from '../src/core/feed.js';
import type { ClusterState } from './cluster-state.js';
import { MAX_FEED_BATCHES, readFeed } from './ops/feed.js';

export interface SocketProgress {
  node: string | null;
  sent: number;
  acked: number;
}

/**
 * Unacknowledged revisions after which a consumer is told to resync and disconnected: at most
 * this many, and never more than the feed keeps (past that it could not be caught up anyway).
 */
export const MAX_UNACKED_REVISIONS = 10_000;
/** Revisions of progress between attachment writes. */
const ATTACHMENT_EVERY = 64;

export class FeedSockets {
  private readonly progress = new Map<WebSocket, SocketProgress & { saved: number }>();

  constructor(private readonly state: ClusterState) {}

  private of(ws: WebSocket): SocketProgress & { saved: number } {
    let p = this.progress.get(ws);
    if (!p) {
      const a = ws.deserializeAttachment() as SocketProgress;
      p = { ...a, saved: a.sent };
      this.progress.set(ws, p);
    }
    return p;
  }

  private save(ws: WebSocket, p: SocketProgress & { saved: number }, force = false): void {
    if (!force && p.sent - p.saved < ATTACHMENT_EVERY) return;
    ws.serializeAttachment({ node: p.node, sent: p.sent, acked: p.acked });
    p.saved = p.sent;
  }

  /** A new subscriber from revision `since`: sends its backlog. */
  accept(ws: WebSocket, node: string | null, since: number): void {
    ws.serializeAttachment({ node, sent: since, acked: since });
    this.catchUp(ws);
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

  /** Brings one socket up to date from the feed table (a new socket, or one that fell behind). */
  private catchUp(ws: WebSocket): void {
    const p = this.of(ws);
    for (;;) {
      const page = readFeed(this.state, p.sent, MAX_FEED_BATCHES);
      if (page.resync) return this.resync(ws, page.revision);
      if (page.batches.length === 0) break;
      if (!this.send(ws, JSON.stringify({ resync: false, revision: page.revision, batches: page.batches }))) return;
      p.sent = page.batches[page.batches.length - 1]!.revision;
      if (p.sent >= page.revision) break;
    }
    this.save(ws, p, true);
  }

  /** Pushes a freshly committed batch to every socket; the message is serialised once. */
  fanOut(sockets: WebSocket[], batch: FeedBatch): void {
    const message = JSON.stringify({ resync: false, revision: batch.revision, batches: [batch] });
    const maxUnacked = Math.min(MAX_UNACKED_REVISIONS, this.state.config()['feed-horizon-revisions']);
    for (const ws of sockets) {
      if (ws.readyState !== WebSocket.READY_STATE_OPEN) continue;
      const p = this.of(ws);
      if (p.sent >= batch.revision) continue;
      if (batch.revision - p.acked > maxUnacked) {
        this.resync(ws, batch.revision);
        continue;
      }
      if (p.sent !== batch.revision - 1) {
        this.catchUp(ws);
        continue;
      }
      if (!this.send(ws, message)) continue;
      p.sent = batch.revision;
      this.save(ws, p);
    }
  }

  /** Handles an agent's `{"ack": revision}`. */
  acknowledge(ws: WebSocket, message: string | ArrayBuffer): void {
    if (typeof message !== 'string') return;
    let ack: unknown;
    try {
      ack = (JSON.parse(message) as { ack?: unknown }).ack;
    } catch {
      return;
    }
    const p = this.of(ws);
    if (Number.isInteger(ack) && (ack as number) > p.acked && (ack as number) <= p.sent) p.acked = ack as number;
  }

  forget(ws: WebSocket): void {
    this.progress.delete(ws);
  }
}
