// Change-feed events: what every committed mutation tells the nodes. STABLE FORMAT: agents of
// older versions read these from the feed; add event types or optional fields, never change one.

export type FeedEvent =
  | { type: 'ipcache-upsert'; prefix: string; identity: number; 'host-ip': string | null; node: string; endpoint: number }
  | { type: 'ipcache-delete'; prefix: string; node: string; endpoint: number }
  | { type: 'identity-add'; id: number; labels: string[] }
  | { type: 'identity-delete'; id: number }
  | { type: 'node-upsert'; name: string; ipv4: string | null; ipv6: string | null }
  | { type: 'node-delete'; name: string }
  | {
      type: 'endpoint-upsert';
      node: string;
      id: number;
      identity: number;
      ipv4: string | null;
      ipv6: string | null;
      'interface-index': number | null;
      mac: string | null;
      'host-mac': string | null;
    }
  | { type: 'endpoint-delete'; node: string; id: number; ipv4: string | null; ipv6: string | null }
  | {
      type: 'policy-upsert';
      identity: number;
      'policy-revision': number;
      'ingress-enforced': boolean;
      'egress-enforced': boolean;
      /** The identity's COMPLETE entry set (replace, not diff): policy_key / policy_entry hex. */
      entries: { key: string; value: string }[];
    }
  | { type: 'policy-delete'; identity: number }
  /** CIDR ipcache entries: no node, no endpoint, no tunnel. */
  | { type: 'prefix-upsert'; prefix: string; identity: number }
  | { type: 'prefix-delete'; prefix: string };

/**
 * The events of one commit, under the cluster revision it produced; or one chunk of them, when
 * the revision spans several (no row or message exceeds 1 MiB): `chunk` counts from 0 and
 * `last: false` marks all chunks but the last. A consumer applies a revision once its last chunk
 * (`last` absent) has arrived. A node reader may see a subset of a revision's chunks (those
 * holding nothing for it are left out, the last one never), so indices may skip.
 */
export interface FeedBatch {
  revision: number;
  events: FeedEvent[];
  /** When the commit happened (ms since the epoch, control-plane clock). */
  'committed-at'?: number;
  chunk?: number;
  last?: false;
}

/**
 * Where a reader stands in the feed: every revision up to `revision` complete, and the chunks
 * below `chunk` of the next one received (0: none).
 */
export interface FeedPosition {
  revision: number;
  chunk: number;
}

/** The position right after `batch`. */
export function positionAfter(batch: Pick<FeedBatch, 'revision' | 'chunk' | 'last'>): FeedPosition {
  return batch.last === false ? { revision: batch.revision - 1, chunk: (batch.chunk ?? 0) + 1 } : { revision: batch.revision, chunk: 0 };
}

/** Orders positions: negative when `a` is before `b`. */
export function comparePositions(a: FeedPosition, b: FeedPosition): number {
  return a.revision - b.revision || a.chunk - b.chunk;
}

/**
 * Which nodes a stored chunk's targeted events go to: pairs of the event's index in the chunk and
 * its nodes. Events not listed go to every node. STABLE FORMAT (stored in the feed table).
 */
export type FeedTargets = [index: number, nodes: string[]][];

/**
 * The events of a chunk that `node` receives (null: an admin or reader, who sees everything).
 * Targeting is decided when the event is emitted and stored with it.
 */
export function eventsForNode(events: FeedEvent[], targets: FeedTargets | null, node: string | null): FeedEvent[] {
  const excluded = excludedForNode(targets, node);
  if (excluded.length === 0) return events;
  const left = new Set(excluded);
  return events.filter((_, i) => !left.has(i));
}

/**
 * The indices of a chunk's events that `node` does not receive, ascending: nodes with the same
 * list see the same events (the key by which a chunk's message is serialised once per view).
 */
export function excludedForNode(targets: FeedTargets | null, node: string | null): number[] {
  if (node === null || targets === null) return [];
  const excluded: number[] = [];
  for (const [index, nodes] of targets) if (!nodes.includes(node)) excluded.push(index);
  return excluded.sort((a, b) => a - b);
}

/** A feed read: batches after `since`, or a resync when `since` is older than the horizon. */
export type FeedPage =
  | { resync: false; revision: number; batches: FeedBatch[] }
  | { resync: true; revision: number };

/**
 * A feed WebSocket message: a page, with `ack-now` set while a create waits for the nodes to
 * apply what they are sent (`wait-for-nodes`): acknowledge it at once rather than lazily.
 */
export type FeedMessage = FeedPage & { 'ack-now'?: true };
