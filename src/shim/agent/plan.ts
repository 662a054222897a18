// Pure planning: feed events or a snapshot → map operations for this node. Applying the result
// (./apply.ts) is the only side effect.
import type { Endpoint } from '../../api/endpoints.js';
import type { IpcacheEntry } from '../../api/identities.js';
import type { FeedEvent } from '../../core/feed.js';
import { hexOf } from '../../datapath/backends/backend.js';
import { encodeIpcacheKey, encodeIpcacheValue } from '../../datapath/layout/ipcache.js';
import { encodeLxcKey, encodeLxcValue } from '../../datapath/layout/lxc.js';
import { IPCACHE_MAP, LXC_MAP, type MapRef } from '../../datapath/maps.js';
import { parseIp, type ParsedIp } from '../../core/ip.js';

export type MapOp =
  | { map: MapRef; kind: 'put'; key: Uint8Array; value: Uint8Array }
  | { map: MapRef; kind: 'delete'; key: Uint8Array };

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

/** An ipcache entry: own pods and CIDR prefixes carry no tunnel endpoint, other pods tunnel to their node. */
function ipcachePut(self: string, e: IpcacheFields, parse?: (ip: string) => ParsedIp | undefined): MapOp & { kind: 'put' } {
  return {
    map: IPCACHE_MAP,
    kind: 'put',
    key: encodeIpcacheKey(e.prefix),
    value: encodeIpcacheValue({ identity: e.identity, tunnelEndpoint: e.node === null || e.node === self ? null : e.hostIp, encryptKey: 0 }, parse),
  };
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

export function planEvents(self: string, events: readonly FeedEvent[]): MapOp[] {
  const ops: MapOp[] = [];
  for (const e of events) {
    switch (e.type) {
      case 'ipcache-upsert':
        ops.push(ipcachePut(self, { prefix: e.prefix, identity: e.identity, hostIp: e['host-ip'], node: e.node }));
        break;
      case 'ipcache-delete':
      case 'prefix-delete':
        ops.push({ map: IPCACHE_MAP, kind: 'delete', key: encodeIpcacheKey(e.prefix) });
        break;
      case 'prefix-upsert':
        // A CIDR identity's prefix: outside the cluster, so no tunnel.
        ops.push({ map: IPCACHE_MAP, kind: 'put', key: encodeIpcacheKey(e.prefix), value: encodeIpcacheValue({ identity: e.identity, tunnelEndpoint: null, encryptKey: 0 }) });
        break;
      case 'endpoint-upsert':
        if (e.node === self) {
          ops.push(...lxcPuts({ id: e.id, identity: e.identity, ipv4: e.ipv4, ipv6: e.ipv6, ifindex: e['interface-index'], mac: e.mac, hostMac: e['host-mac'] }));
        }
        break;
      case 'endpoint-delete':
        if (e.node === self) {
          for (const ip of [e.ipv4, e.ipv6]) if (ip !== null) ops.push({ map: LXC_MAP, kind: 'delete', key: encodeLxcKey(ip) });
        }
        break;
      default:
        // identity and node events carry nothing these maps hold; policy events go to the
        // per-endpoint policy maps, which this agent does not write yet
        break;
    }
  }
  return ops;
}

/** What one map holds now. */
export interface MapContents {
  map: MapRef;
  entries: [Uint8Array, Uint8Array][];
}

/** What maps should hold: map name → hex key → entry. */
export type DesiredMaps = Map<string, { map: MapRef; entries: Map<string, { key: Uint8Array; value: Uint8Array }> }>;

/** The entries a snapshot of the ipcache and of this node's endpoints puts in the maps. */
export function* snapshotPuts(self: string, ipcache: readonly IpcacheEntry[], own: readonly Endpoint[]): Generator<MapOp & { kind: 'put' }> {
  const parse = memoParseIp();
  for (const e of ipcache) yield ipcachePut(self, { prefix: e.prefix, identity: e.identity, hostIp: e['host-ip'], node: e.node }, parse);
  for (const ep of own) {
    yield* lxcPuts({
      id: ep.id, identity: ep.identity.id, ipv4: ep.addressing.ipv4 ?? null, ipv6: ep.addressing.ipv6 ?? null,
      ifindex: ep['interface-index'] ?? null, mac: ep.mac ?? null, hostMac: ep['host-mac'] ?? null,
    });
  }
}

/** What the maps should hold according to a snapshot. */
export function desiredFromSnapshot(self: string, ipcache: readonly IpcacheEntry[], own: readonly Endpoint[]): DesiredMaps {
  const desired: DesiredMaps = new Map();
  for (const op of snapshotPuts(self, ipcache, own)) {
    let m = desired.get(op.map.name);
    if (!m) desired.set(op.map.name, (m = { map: op.map, entries: new Map() }));
    m.entries.set(hexOf(op.key), op);
  }
  return desired;
}

/**
 * Reconciliation of the maps in `current`: every missing or different entry is written first,
 * then stale ones deleted, so a live entry is never absent in between.
 */
export function planReconcile(current: readonly MapContents[], desired: DesiredMaps): MapOp[] {
  const puts: MapOp[] = [];
  const deletes: MapOp[] = [];
  for (const { map, entries } of current) {
    const want = desired.get(map.name)?.entries ?? new Map<string, { key: Uint8Array; value: Uint8Array }>();
    const have = new Map(entries.map(([k, v]) => [hexOf(k), hexOf(v)]));
    for (const [hex, { key, value }] of want) {
      if (have.get(hex) !== hexOf(value)) puts.push({ map, kind: 'put', key, value });
    }
    for (const [k] of entries) if (!want.has(hexOf(k))) deletes.push({ map, kind: 'delete', key: k });
  }
  for (const { map, entries } of desired.values()) {
    if (current.some((c) => c.map.name === map.name)) continue;
    for (const { key, value } of entries.values()) puts.push({ map, kind: 'put', key, value });
  }
  return [...puts, ...deletes];
}

/**
 * The operations that bring maps holding `current` to a snapshot. Empty maps (a new node) take
 * the snapshot's entries as they stream, without building the diff.
 */
export function reconcileWithSnapshot(
  self: string,
  current: readonly MapContents[],
  ipcache: readonly IpcacheEntry[],
  own: readonly Endpoint[],
): Iterable<MapOp> {
  if (current.every((c) => c.entries.length === 0)) return snapshotPuts(self, ipcache, own);
  return planReconcile(current, desiredFromSnapshot(self, ipcache, own));
}
