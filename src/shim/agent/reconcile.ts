// Pure planning from a snapshot: what brings the maps to it. At a resync the snapshot is the
// whole ipcache plus the node's own state (its endpoints, their identities' policies, every
// node's addresses); at a restart the maps resume from the feed, and only the node's own state
// is reconciled (the ipcache's node-address entries, the lxc map and the policy maps).
import type { Endpoint } from '../../api/endpoints.js';
import type { IpcacheEntry } from '../../api/identities.js';
import { HOST_IDENTITY, REMOTE_NODE_IDENTITY } from '../../core/identity.js';
import { EntrySet } from '../../datapath/entry-set.js';
import { ipcacheIdentityOf } from '../../datapath/layout/ipcache.js';
import { endpointOfMap, IPCACHE_MAP, POLICY_MAPS, type MapRef } from '../../datapath/maps.js';
import { NodeView } from './node-view.js';
import { nodeAddressPuts, policyReplace, snapshotPuts, type MapOp } from './plan.js';

/** What one map holds now. */
export interface MapContents {
  map: MapRef;
  entries: EntrySet;
}

/** What maps should hold: map name → entries. */
export type DesiredMaps = Map<string, { map: MapRef; entries: EntrySet }>;

function* nodeAddressSnapshotPuts(self: string, view: NodeView): Generator<MapOp & { kind: 'put' }> {
  for (const [name, addresses] of view.nodes) yield* nodeAddressPuts(self, name, addresses);
}

/** What the ipcache and lxc maps should hold: a node's address wins over a CIDR prefix equal to it. */
export function desiredFromSnapshot(self: string, ipcache: readonly IpcacheEntry[], own: readonly Endpoint[], view = new NodeView()): DesiredMaps {
  const desired: DesiredMaps = new Map();
  for (const ops of [snapshotPuts(self, ipcache, own), nodeAddressSnapshotPuts(self, view)]) {
    for (const op of ops) {
      let m = desired.get(op.map.name);
      if (!m) desired.set(op.map.name, (m = { map: op.map, entries: new EntrySet(op.map.layout.keySize, op.map.layout.valueSize, op.map.name === IPCACHE_MAP.name ? ipcache.length : 0) }));
      m.entries.set(op.key, op.value);
    }
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
  for (const { map, entries: have } of current) {
    const want = desired.get(map.name)?.entries ?? new EntrySet(have.keySize, have.valueSize);
    const wanted = new Uint8Array(have.size);
    for (let i = 0; i < want.size; i++) {
      const key = want.keyAt(i);
      const value = want.valueAt(i);
      const h = have.indexOf(key);
      if (h < 0 || !have.hasValueAt(h, value)) puts.push({ map, kind: 'put', key, value });
      if (h >= 0) wanted[h] = 1;
    }
    for (let i = 0; i < have.size; i++) if (!wanted[i]) deletes.push({ map, kind: 'delete', key: have.keyAt(i) });
  }
  for (const { map, entries } of desired.values()) {
    if (current.some((c) => c.map.name === map.name)) continue;
    for (let i = 0; i < entries.size; i++) puts.push({ map, kind: 'put', key: entries.keyAt(i), value: entries.valueAt(i) });
  }
  return [...puts, ...deletes];
}

/** The ipcache entries a node's addresses put there (the only entries with these identities). */
function onlyNodeAddresses(c: MapContents): MapContents {
  if (c.map.name !== IPCACHE_MAP.name) return c;
  return { map: c.map, entries: c.entries.filter((_k, v) => [HOST_IDENTITY, REMOTE_NODE_IDENTITY].includes(ipcacheIdentityOf(v))) };
}

/**
 * The operations that bring the maps to a snapshot (`ipcache` undefined: a restart, see above),
 * ordered as a revision's are: every endpoint's policy map complete first, then the ipcache and
 * lxc maps, then the removal of policy maps whose endpoint is gone (`pinned`: those present).
 * Empty maps (a new node) take the snapshot's entries as they stream, without building the diff.
 */
export function reconcileWithSnapshot(
  self: string,
  current: readonly MapContents[],
  pinned: readonly MapRef[],
  view: NodeView,
  snapshot: { ipcache: readonly IpcacheEntry[] | undefined; own: readonly Endpoint[] },
): Iterable<MapOp> {
  const fills = [...view.endpoints].map(([id, identity]) => policyReplace(id, view.policies.get(identity)));
  const removals: MapOp[] = pinned
    .filter((map) => !view.endpoints.has(endpointOfMap(POLICY_MAPS, map.name) ?? -1))
    .map((map) => ({ map, kind: 'remove-map' as const }));
  const { ipcache, own } = snapshot;
  if (ipcache !== undefined && current.every((c) => c.entries.size === 0)) {
    return (function* () {
      yield* fills;
      yield* snapshotPuts(self, ipcache, own);
      yield* nodeAddressSnapshotPuts(self, view);
      yield* removals;
    })();
  }
  const maps = ipcache === undefined ? current.map(onlyNodeAddresses) : current;
  return [...fills, ...planReconcile(maps, desiredFromSnapshot(self, ipcache ?? [], own, view)), ...removals];
}
