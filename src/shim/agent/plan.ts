// Pure planning: feed events → map operations for this node (./reconcile.ts plans from a
// snapshot). Applying the result (./apply.ts) is the only side effect.
import type { Endpoint } from '../../api/endpoints.js';
import type { IpcacheEntry } from '../../api/identities.js';
import type { FeedEvent } from '../../core/feed.js';
import { HOST_IDENTITY, REMOTE_NODE_IDENTITY } from '../../core/identity.js';
import type { EntrySet } from '../../datapath/entry-set.js';
import { encodeIpcacheKey, encodeIpcacheValue, IPCACHE_KEY, REMOTE_ENDPOINT_INFO, writeIpcacheKey, writeIpcacheValue } from '../../datapath/layout/ipcache.js';
import { encodeLxcKey, encodeLxcValue } from '../../datapath/layout/lxc.js';
import { endpointMap, IPCACHE_MAP, LXC_MAP, POLICY_MAPS, type MapRef } from '../../datapath/maps.js';
import { hostPrefixesOf, parseIp, type ParsedIp } from '../../core/ip.js';
import type { NodeAddresses, NodeView, PolicyEntries, ViewDraft } from './node-view.js';

export type MapOp =
  | { map: MapRef; kind: 'put'; key: Uint8Array; value: Uint8Array }
  | { map: MapRef; kind: 'delete'; key: Uint8Array }
  /** A put of each entry of the set in its order: a snapshot into an empty map, with no object per entry. */
  | { map: MapRef; kind: 'put-set'; entries: EntrySet }
  /** The map holds exactly these entries (hex) afterwards; created when absent. */
  | { map: MapRef; kind: 'replace'; entries: PolicyEntries }
  /** The map is unpinned. */
  | { map: MapRef; kind: 'remove-map' };

interface IpcacheFields {
  prefix: string;
  identity: number;
  hostIp: string | null;
  /** Null for a CIDR identity's prefix in a snapshot: no tunnel, as for prefix-upsert. */
  node: string | null;
}

/** Parses node addresses once each: a snapshot has many pods on few nodes. */
function memoParseIp(): (ip: string) => ParsedIp | undefined {
  const memo = new Map<string, ParsedIp | undefined>();
  return (ip) => {
    if (!memo.has(ip)) memo.set(ip, parseIp(ip));
    return memo.get(ip);
  };
}

/**
 * Writes an ipcache entry into `key` and `value`, its fields one by one (no object per entry):
 * own pods and CIDR prefixes (node null) carry no tunnel endpoint, other pods tunnel to their node.
 */
function writeIpcacheEntry(self: string, prefix: string, identity: number, hostIp: string | null, node: string | null, key: Uint8Array, value: Uint8Array, parse?: (ip: string) => ParsedIp | undefined): void {
  writeIpcacheKey(key, prefix);
  writeIpcacheValue(value, identity, node === null || node === self ? null : hostIp, 0, parse);
}

function ipcachePut(self: string, e: IpcacheFields): MapOp & { kind: 'put' } {
  const key = new Uint8Array(IPCACHE_KEY.size);
  const value = new Uint8Array(REMOTE_ENDPOINT_INFO.size);
  writeIpcacheEntry(self, e.prefix, e.identity, e.hostIp, e.node, key, value);
  return { map: IPCACHE_MAP, kind: 'put', key, value };
}

interface LxcFields {
  id: number;
  identity: number;
  ipv4: string | null;
  ipv6: string | null;
  ifindex: number | null;
  mac: string | null;
  hostMac: string | null;
}

/** lxc entries of one of this node's endpoints, one per address. */
function lxcPuts(e: LxcFields): (MapOp & { kind: 'put' })[] {
  const value = encodeLxcValue({ ifindex: e.ifindex ?? 0, lxcId: e.id, flags: 0, mac: e.mac, nodeMac: e.hostMac, secId: e.identity, parentIfindex: 0 });
  return [e.ipv4, e.ipv6].filter((ip): ip is string => ip !== null).map((ip) => ({ map: LXC_MAP, kind: 'put' as const, key: encodeLxcKey(ip), value }));
}

/**
 * The ipcache entries of a node's addresses as Cilium v1.18's node manager writes them
 * (NodeUpdated): host (1) for its own node, remote-node (6) for the others, and no tunnel endpoint
 * (a node's Internal/ExternalIP gets one only with node encryption or the host firewall).
 */
export function nodeAddressPuts(self: string, name: string, a: NodeAddresses): (MapOp & { kind: 'put' })[] {
  const value = encodeIpcacheValue({ identity: name === self ? HOST_IDENTITY : REMOTE_NODE_IDENTITY, tunnelEndpoint: null, encryptKey: 0 });
  return hostPrefixesOf(a).map((prefix) => ({ map: IPCACHE_MAP, kind: 'put' as const, key: encodeIpcacheKey(prefix), value }));
}

/** Whether a prefix is a node's address in the draft (a node's entry wins over a CIDR identity's). */
function isNodeAddress(draft: ViewDraft, prefix: string): boolean {
  if (!prefix.endsWith('/32') && !prefix.endsWith('/128')) return false;
  for (const [, a] of draft.nodes.entries()) if (hostPrefixesOf(a).includes(prefix)) return true;
  return false;
}

/** A node's addresses changed (null: the node is gone): the entries of its new ones, then the removal of the others. */
function planNodeAddresses(self: string, draft: ViewDraft, name: string, next: NodeAddresses | null): MapOp[] {
  const before = draft.nodes.get(name);
  if (next) draft.nodes.set(name, next);
  else draft.nodes.delete(name);
  const ops: MapOp[] = next ? nodeAddressPuts(self, name, next) : [];
  const kept = next ? hostPrefixesOf(next) : [];
  for (const prefix of before ? hostPrefixesOf(before) : []) {
    if (!kept.includes(prefix)) ops.push({ map: IPCACHE_MAP, kind: 'delete', key: encodeIpcacheKey(prefix) });
  }
  return ops;
}

/**
 * One applied revision's operations, in the order that keeps a pod protected: every local
 * endpoint whose policy changed gets its map's complete entry set first (a new endpoint's map is
 * created and filled before its lxc entry appears), then the ipcache and lxc changes in event
 * order, then the maps of endpoints gone by the revision's end (their lxc entries removed above).
 * The draft holds what the revision leaves in the view; commit it once the operations are applied.
 */
export function planRevision(self: string, view: NodeView, events: readonly FeedEvent[]): { ops: MapOp[]; draft: ViewDraft } {
  const draft = view.draft();
  const ops: MapOp[] = [];
  const changedPolicies = new Set<number>();
  const refill = new Set<number>();
  const removed = new Set<number>();
  for (const e of events) {
    switch (e.type) {
      case 'ipcache-upsert':
        ops.push(ipcachePut(self, { prefix: e.prefix, identity: e.identity, hostIp: e['host-ip'], node: e.node }));
        break;
      case 'ipcache-delete':
        ops.push({ map: IPCACHE_MAP, kind: 'delete', key: encodeIpcacheKey(e.prefix) });
        break;
      case 'prefix-upsert':
        // A CIDR identity's prefix: outside the cluster, so no tunnel.
        if (!isNodeAddress(draft, e.prefix)) ops.push({ map: IPCACHE_MAP, kind: 'put', key: encodeIpcacheKey(e.prefix), value: encodeIpcacheValue({ identity: e.identity, tunnelEndpoint: null, encryptKey: 0 }) });
        break;
      case 'prefix-delete':
        if (!isNodeAddress(draft, e.prefix)) ops.push({ map: IPCACHE_MAP, kind: 'delete', key: encodeIpcacheKey(e.prefix) });
        break;
      case 'endpoint-upsert':
        if (e.node !== self) break;
        if (draft.endpoints.get(e.id) !== e.identity) refill.add(e.id);
        draft.endpoints.set(e.id, e.identity);
        removed.delete(e.id);
        ops.push(...lxcPuts({ id: e.id, identity: e.identity, ipv4: e.ipv4, ipv6: e.ipv6, ifindex: e['interface-index'], mac: e.mac, hostMac: e['host-mac'] }));
        break;
      case 'endpoint-delete':
        if (e.node !== self) break;
        draft.endpoints.delete(e.id);
        refill.delete(e.id);
        removed.add(e.id);
        for (const ip of [e.ipv4, e.ipv6]) if (ip !== null) ops.push({ map: LXC_MAP, kind: 'delete', key: encodeLxcKey(ip) });
        break;
      case 'policy-upsert':
        draft.policies.set(e.identity, e.entries);
        changedPolicies.add(e.identity);
        break;
      case 'policy-delete':
        draft.policies.delete(e.identity);
        changedPolicies.add(e.identity);
        break;
      case 'node-upsert':
        ops.push(...planNodeAddresses(self, draft, e.name, { ipv4: e.ipv4, ipv6: e.ipv6 }));
        break;
      case 'node-delete':
        ops.push(...planNodeAddresses(self, draft, e.name, null));
        break;
      default:
        // identity events carry nothing these maps hold
        break;
    }
  }
  if (changedPolicies.size > 0) {
    for (const [id, identity] of draft.endpoints.entries()) if (changedPolicies.has(identity)) refill.add(id);
  }
  const fills: MapOp[] = [...refill].map((id) => policyReplace(id, draft.policies.get(draft.endpoints.get(id)!)));
  const removals: MapOp[] = [...removed].map((id) => ({ map: endpointMap(POLICY_MAPS, id), kind: 'remove-map' as const }));
  return { ops: [...fills, ...ops, ...removals], draft };
}

/** An endpoint's policy map set to its identity's entries (none when the identity has no policy of its own). */
export function policyReplace(endpoint: number, entries: PolicyEntries | undefined): MapOp {
  return { map: endpointMap(POLICY_MAPS, endpoint), kind: 'replace', entries: entries ?? [] };
}

/**
 * Sets a snapshot's ipcache entries in `set`, each encoded into one reused key and value (a
 * snapshot is 100k entries: an object or array per entry is most of its cost).
 */
export function setSnapshotIpcache(self: string, ipcache: readonly IpcacheEntry[], set: EntrySet): void {
  const parse = memoParseIp();
  const key = new Uint8Array(IPCACHE_KEY.size);
  const value = new Uint8Array(REMOTE_ENDPOINT_INFO.size);
  for (const e of ipcache) {
    writeIpcacheEntry(self, e.prefix, e.identity, e['host-ip'], e.node, key, value, parse);
    set.set(key, value);
  }
}

/** The lxc entries of this node's endpoints in a snapshot. */
export function ownLxcPuts(own: readonly Endpoint[]): (MapOp & { kind: 'put' })[] {
  return own.flatMap((ep) => lxcPuts({
    id: ep.id, identity: ep.identity.id, ipv4: ep.addressing.ipv4 ?? null, ipv6: ep.addressing.ipv6 ?? null,
    ifindex: ep['interface-index'] ?? null, mac: ep.mac ?? null, hostMac: ep['host-mac'] ?? null,
  }));
}
