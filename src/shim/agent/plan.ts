// Pure planning: feed events or a snapshot → map operations for this node. Applying the result
// (./apply.ts) is the only side effect.
import type { Endpoint } from '../../api/endpoints.js';
import type { IpcacheEntry } from '../../api/identities.js';
import type { FeedEvent } from '../../core/feed.js';
import { hexOf } from '../../datapath/backends/backend.js';
import { encodeIpcacheKey, encodeIpcacheValue } from '../../datapath/layout/ipcache.js';
import { encodeLxcKey, encodeLxcValue } from '../../datapath/layout/lxc.js';
import type { MapName } from '../../datapath/maps.js';
import { parseIp, type ParsedIp } from '../../core/ip.js';

export type MapOp =
  | { map: MapName; kind: 'put'; key: Uint8Array; value: Uint8Array }
  | { map: MapName; kind: 'delete'; key: Uint8Array };

interface IpcacheFields {
  prefix: string;
  identity: number;
  hostIp: string | null;
  node: string;
}

/** Parses node addresses once each: a snapshot has many pods on few nodes. */
function memoParseIp(): (ip: string) => ParsedIp | undefined {
  const memo = new Map<string, ParsedIp | undefined>();
  return (ip) => {
    if (!memo.has(ip)) memo.set(ip, parseIp(ip));
    return memo.get(ip);
  };
}

/** An ipcache entry: own pods carry no tunnel endpoint, others tunnel to their node. */
function ipcachePut(self: string, e: IpcacheFields, parse?: (ip: string) => ParsedIp | undefined): MapOp & { kind: 'put' } {
  return {
    map: 'ipcache',
    kind: 'put',
    key: encodeIpcacheKey(e.prefix),
    value: encodeIpcacheValue({ identity: e.identity, tunnelEndpoint: e.node === self ? null : e.hostIp, encryptKey: 0 }, parse),
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
  return [e.ipv4, e.ipv6].filter((ip): ip is string => ip !== null).map((ip) => ({ map: 'lxc' as const, kind: 'put' as const, key: encodeLxcKey(ip), value }));
}

export function planEvents(self: string, events: readonly FeedEvent[]): MapOp[] {
  const ops: MapOp[] = [];
  for (const e of events) {
    switch (e.type) {
      case 'ipcache-upsert':
        ops.push(ipcachePut(self, { prefix: e.prefix, identity: e.identity, hostIp: e['host-ip'], node: e.node }));
        break;
      case 'ipcache-delete':
        ops.push({ map: 'ipcache', kind: 'delete', key: encodeIpcacheKey(e.prefix) });
        break;
      case 'endpoint-upsert':
        if (e.node === self) {
          ops.push(...lxcPuts({ id: e.id, identity: e.identity, ipv4: e.ipv4, ipv6: e.ipv6, ifindex: e['interface-index'], mac: e.mac, hostMac: e['host-mac'] }));
        }
        break;
      case 'endpoint-delete':
        if (e.node === self) {
          for (const ip of [e.ipv4, e.ipv6]) if (ip !== null) ops.push({ map: 'lxc', kind: 'delete', key: encodeLxcKey(ip) });
        }
        break;
      default:
        // identity and node events carry nothing these maps hold
        break;
    }
  }
  return ops;
}

export type DesiredMaps = Record<MapName, Map<string, { key: Uint8Array; value: Uint8Array }>>;

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

/** What the maps should hold according to a snapshot, keyed by hex key. */
export function desiredFromSnapshot(self: string, ipcache: readonly IpcacheEntry[], own: readonly Endpoint[]): DesiredMaps {
  const desired: DesiredMaps = { ipcache: new Map(), lxc: new Map() };
  for (const op of snapshotPuts(self, ipcache, own)) desired[op.map].set(hexOf(op.key), op);
  return desired;
}

/**
 * Reconciliation: every missing or different entry is written first, then stale ones deleted,
 * so a live entry is never absent in between.
 */
export function planReconcile(current: Record<MapName, [Uint8Array, Uint8Array][]>, desired: DesiredMaps): MapOp[] {
  const puts: MapOp[] = [];
  const deletes: MapOp[] = [];
  for (const map of Object.keys(desired) as MapName[]) {
    const have = new Map(current[map].map(([k, v]) => [hexOf(k), hexOf(v)]));
    for (const [hex, { key, value }] of desired[map]) {
      const current = have.get(hex);
      if (current === undefined || current !== hexOf(value)) puts.push({ map, kind: 'put', key, value });
    }
    for (const [k] of current[map]) if (!desired[map].has(hexOf(k))) deletes.push({ map, kind: 'delete', key: k });
  }
  return [...puts, ...deletes];
}

/**
 * The operations that bring maps holding `current` to a snapshot. Empty maps (a new node) take
 * the snapshot's entries as they stream, without building the diff.
 */
export function reconcileWithSnapshot(
  self: string,
  current: Record<MapName, [Uint8Array, Uint8Array][]>,
  ipcache: readonly IpcacheEntry[],
  own: readonly Endpoint[],
): Iterable<MapOp> {
  if (current.ipcache.length === 0 && current.lxc.length === 0) return snapshotPuts(self, ipcache, own);
  return planReconcile(current, desiredFromSnapshot(self, ipcache, own));
}
