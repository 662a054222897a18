// Node registration, heartbeats, and removal (DELETE or lease expiry) in bounded batches: the
// node is marked deleting in one transaction, then its endpoints go at most
// MAX_ENDPOINTS_PER_BATCH per transaction and revision, and the node itself with the last of
// them (../background-work.ts runs the batches).
import type { Heartbeat, Node, NodeList, NodeRegistration, NodeSpec } from '../../src/api/nodes.js';
import { hashToken } from '../../src/core/auth.js';
import { encodeBase64Url } from '../../src/core/base64url.js';
import { DomainError } from '../../src/core/errors.js';
import { hostPrefix, parseIpField, tunnelIpOf } from '../../src/core/ip.js';
import type { ClusterState } from '../cluster-state.js';
import { toNode } from '../models.js';
import { decodeCursor, takePage } from '../paging.js';
import { nodeDeleting, removeEndpoint } from './endpoints.js';

/** Endpoints removed by one transaction at most: their events stay far below a feed batch's limit. */
export const MAX_ENDPOINTS_PER_BATCH = 256;
/** Expired nodes marked for removal by one transaction at most. */
export const MAX_NODES_PER_BATCH = 256;

/** A node token: `<node>.<secret>`, 32 random bytes of secret in base64url. */
function newNodeToken(node: string): string {
  return `${node}.${encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** Registers or updates a node. A token is issued (and returned, once) on creation or rotation. */
export function putNode(state: ClusterState, name: string, spec: NodeSpec, now: number): { created: boolean; node: NodeRegistration } {
  const addresses = [parseIpField('ipv4', spec.ipv4, 4), parseIpField('ipv6', spec.ipv6, 6)];
  for (const ip of addresses) {
    // A node's address is never a pod's (see claimAddress): the ipcache would send its traffic to the pod.
    const holder = ip && state.ipcache.holder(hostPrefix(ip));
    if (holder) throw new DomainError('ip-in-use', `IP ${ip.text} is the address of endpoint ${holder.endpoint} on node ${holder.node}`);
  }
  const [ipv4, ipv6] = addresses.map((ip) => ip?.text ?? null) as [string | null, string | null];
  const existing = state.nodes.addressAndState(name);
  if (existing?.deleting) throw nodeDeleting(name);
  const before = existing?.hostIp;
  const issue = existing === undefined || spec['rotate-token'] === true;
  const token = issue ? newNodeToken(name) : undefined;
  const created = state.nodes.upsert({ name, ipv4, ipv6, leaseSeconds: spec['lease-seconds'], tokenHash: token && hashToken(token) }, now);
  state.emit({ type: 'node-upsert', name, ipv4, ipv6 });
  const hostIp = tunnelIpOf({ ipv4, ipv6 });
  if (!created && hostIp !== before) {
    // The tunnel endpoint of this node's pods moved: every other node must rewrite their entries.
    // At most 2 × 4095 of them, split over revisions so that no batch grows past its limit.
    for (const e of state.ipcache.onNode(name)) {
      state.emit({ type: 'ipcache-upsert', prefix: e.prefix, identity: e.identity, 'host-ip': hostIp, node: name, endpoint: e.endpoint });
      state.bumpRevisionIfFull(now);
    }
  }
  state.bumpRevision(now);
  return { created, node: { ...getNode(state, name), ...(token ? { token } : {}) } };
}

export function getNode(state: ClusterState, name: string): Node {
  const row = state.nodes.get(name);
  if (!row) throw new DomainError('node-not-found', `node ${JSON.stringify(name)} not found`);
  return toNode(row, state.revision());
}

export function listNodes(state: ClusterState, args: { limit?: number; cursor?: string }): NodeList {
  const revision = state.revision();
  const limit = args.limit ?? 1000;
  const after = args.cursor === undefined ? undefined : decodeCursor(args.cursor, (v): v is string => typeof v === 'string');
  const { items, ...next } = takePage(state.nodes.page(after, limit + 1), limit, (row) => toNode(row, revision), (row) => row.name);
  return { revision, nodes: items, ...next };
}

export function heartbeat(state: ClusterState, name: string, beat: Heartbeat, now: number): Node {
  getNode(state, name);
  if (state.nodes.isDeleting(name)) throw nodeDeleting(name);
  const revision = state.revision();
  if (beat['applied-revision'] > revision) {
    throw new DomainError('invalid-revision', `applied-revision ${beat['applied-revision']} is beyond the cluster's revision ${revision}`);
  }
  state.nodes.heartbeat(name, beat['applied-revision'], now);
  return getNode(state, name);
}

/**
 * Starts removing a node (idempotent): from now on its token is void and its endpoints cannot be
 * created or changed. Returns the number of endpoints it still has.
 */
export function beginNodeDeletion(state: ClusterState, name: string, now: number): number {
  const row = state.nodes.get(name);
  if (!row) throw new DomainError('node-not-found', `node ${JSON.stringify(name)} not found`);
  state.nodes.markDeleting(name, now);
  return row.endpoints;
}

/** Marks those of `names` whose lease lapsed by `now` for removal; returns them. */
export function markExpiredNodes(state: ClusterState, names: readonly string[], now: number): string[] {
  return state.nodes.markExpired(names, now);
}

/**
 * One batch of a node's removal, in one revision: removes those of `ids` still on the node, and
 * the node itself once it has no endpoint left. Returns true when the node is gone.
 */
export function removeNodeBatch(state: ClusterState, name: string, ids: readonly number[], now: number): boolean {
  if (!state.nodes.isDeleting(name)) return !state.nodes.exists(name);
  for (const ep of state.endpoints.onNodeWithIds(name, ids)) removeEndpoint(state, ep, now);
  const gone = state.endpoints.countOnNode(name) === 0;
  if (gone) {
    state.nodes.delete(name);
    state.emit({ type: 'node-delete', name });
  }
  if (state.hasPendingEvents()) state.bumpRevision(now);
  return gone;
}
