// The change feed over hibernating WebSockets. Each socket's attachment remembers the last
// revision sent and the last one the agent acknowledged; a consumer too far behind is cut off
// with a resync instead of letting its backlog grow.
import type { FeedBatch } from '../src/core/feed.js';
import type { ClusterState } from './cluster-state.js';
import { MAX_FEED_BATCHES, readFeed } from './ops/feed.js';

export interface SocketAttachment {
  node: string | null;
  sent: number;
  acked: number;
}

/**
 * Unacknowledged revisions after which a consumer is told to resync and disconnected: at most
 * this many, and never more than the feed keeps (past that it could not be caught up anyway).
 */
export const MAX_UNACKED_REVISIONS = 10_000;

export function attachment(ws: WebSocket): SocketAttachment {
  return ws.deserializeAttachment() as SocketAttachment;
}

function sendResync(ws: WebSocket, revision: number): void {
  ws.send(JSON.stringify({ resync: true, revision }));
  ws.close(4000, 'resync');
}

/** Brings one socket up to date from the feed table (a new socket, or one that fell behind). */
export function catchUp(state: ClusterState, ws: WebSocket): void {
  const a = attachment(ws);
  for (;;) {
    const page = readFeed(state, a.sent, MAX_FEED_BATCHES);
    if (page.resync) return sendResync(ws, page.revision);
    if (page.batches.length === 0) break;
    ws.send(JSON.stringify({ resync: false, revision: page.revision, batches: page.batches }));
    a.sent = page.batches[page.batches.length - 1]!.revision;
    if (a.sent >= page.revision) break;
  }
  ws.serializeAttachment(a);
}

/** Pushes a freshly committed batch to every socket; the message is serialised once. */
export function fanOut(state: ClusterState, sockets: WebSocket[], batch: FeedBatch): void {
  const message = JSON.stringify({ resync: false, revision: batch.revision, batches: [batch] });
  for (const ws of sockets) {
    const a = attachment(ws);
    if (a.sent >= batch.revision) continue;
    if (batch.revision - a.acked > Math.min(MAX_UNACKED_REVISIONS, state.config()['feed-horizon-revisions'])) {
      sendResync(ws, batch.revision);
      continue;
    }
    if (a.sent !== batch.revision - 1) {
      catchUp(state, ws);
      continue;
    }
    ws.send(message);
    a.sent = batch.revision;
    ws.serializeAttachment(a);
  }
}

/** Handles an agent's `{"ack": revision}`. */
export function acknowledge(ws: WebSocket, message: string | ArrayBuffer): void {
  if (typeof message !== 'string') return;
  let ack: unknown;
  try {
    ack = (JSON.parse(message) as { ack?: unknown }).ack;
  } catch {
    return;
  }
  const a = attachment(ws);
  if (Number.isInteger(ack) && (ack as number) > a.acked && (ack as number) <= a.sent) {
    a.acked = ack as number;
    ws.serializeAttachment(a);
  }
}
