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
  /** An identity's COMPLETE policy map content (replaces what the node held for it). */
  | {
      type: 'policy-upsert';
      identity: number;
      'policy-revision': number;
      'ingress-enforced': boolean;
      'egress-enforced': boolean;
      entries: { key: string; value: string }[];
    }
  /** The identity has no policy on the node any more. */
  | { type: 'policy-delete'; identity: number }
  /** A CIDR identity's ipcache entry: no node, endpoint or tunnel. */
  | { type: 'prefix-upsert'; prefix: string; identity: number }
  | { type: 'prefix-delete'; prefix: string };

/** The events of one commit, under the cluster revision it produced. */
export interface FeedBatch {
  revision: number;
  events: FeedEvent[];
  /** When the commit happened (ms since the epoch, control-plane clock). */
  'committed-at'?: number;
}

/** A feed read: batches after `since`, or a resync when `since` is older than the horizon. */
export type FeedPage =
  | { resync: false; revision: number; batches: FeedBatch[] }
  | { resync: true; revision: number };
