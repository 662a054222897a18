// Pure planning from a snapshot: what brings the maps to it. At a resync the snapshot is the
// whole ipcache plus the node's own state (its endpoints, their identities' policies, every
// node's addresses); at a restart the maps resume from the feed, and only the node's own state
// is reconciled (the ipcache's node-address entries, the lxc map and the policy maps).
import type { Endpoint } from '../../api/endpoints.js';
import type { IpcacheEntry } from '../../api/identities.js';
import { HOST_IDENTITY, REMOTE_NODE_IDENTITY } from '../../core/identity.js';
import { EntrySet } from '../../datapath/entry-set.js';
import { ipcacheIdentityOf } from '../../datapath/layout/ipcache.js';
import { endpointOfMap, IPCACHE_MAP, LXC_MAP, POLICY_MAPS, type MapRef } from '../../datapath/maps.js';
import { NodeView } from './node-view.js';
import { nodeAddressPuts, ownLxcPuts, policyReplace, setSnapshotIpcache, type MapOp } from './plan.js';

/** What one map holds now. */
export interface MapContents {
  map: MapRef;
  entries: EntrySet;
}

/** What maps should hold: map name → entries. */
export type DesiredMaps = Map<string, { map: MapRef; entries: EntrySet }>;

function emptyFor(map: MapRef, expected = 0): { map: MapRef; entries: EntrySet } {
  return { map, entries: new EntrySet(map.layout.keySize, map.layout.valueSize, expected) };
}

/** What the ipcache and lxc maps should hold: a node's address wins over a CIDR prefix equal to it. */
export function desiredFromSnapshot(self: string, ipcache: readonly IpcacheEntry[], own: readonly Endpoint[], view = new NodeView()): DesiredMaps {
  const ipcacheMap = emptyFor(IPCACHE_MAP, ipcache.length);
  setSnapshotIpcache(self, ipcache, ipcacheMap.entries);
  for (const [name, addresses] of view.nodes) for (const op of nodeAddressPuts(self, name, addresses)) ipcacheMap.entries.set(op.key, op.value);
  const lxcMap = emptyFor(LXC_MAP);
  for (const op of ownLxcPuts(own)) lxcMap.entries.set(op.key, op.value);
  return new Map([[IPCACHE_MAP.name, ipcacheMap], [LXC_MAP.name, lxcMap]]);
}

/**
 * Reconciliation of the maps in `current`: every missing or different entry is written first,
 * then stale ones deleted, so a live entry is never absent in between. An empty map takes its
 * whole entry set in one operation.
 */
export function planReconcile(current: readonly MapContents[], desired: DesiredMaps): MapOp[] {
  const puts: MapOp[] = [];
  const deletes: MapOp[] = [];
  for (const { map, entries: have } of current) {
    const want = desired.get(map.name)?.entries ?? new EntrySet(have.keySize, have.valueSize);
    if (have.size === 0) {
      if (want.size > 0) puts.push({ map, kind: 'put-set', entries: want });
      continue;
    }
    const wanted = new Uint8Array(have.size);
    for (let i = 0; i < want.size; i++) {
      const h = have.indexOfKeyIn(want, i);
      if (h < 0 || !have.hasValueIn(h, want, i)) puts.push({ map, kind: 'put', key: want.keyAt(i), value: want.valueAt(i) });
      if (h >= 0) wanted[h] = 1;
    }
    for (let i = 0; i < have.size; i++) if (!wanted[i]) deletes.push({ map, kind: 'delete', key: have.keyAt(i) });
  }
  for (const { map, entries } of desired.values()) {
    if (current.some((c) => c.map.name === map.name) || entries.size === 0) continue;
    puts.push({ map, kind: 'put-set', entries });
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
 */
export function reconcileWithSnapshot(
  self: string,
  current: readonly MapContents[],
  pinned: readonly MapRef[],
  view: NodeView,
  snapshot: { ipcache: readonly IpcacheEntry[] | undefined; own: readonly Endpoint[] },
): MapOp[] {
  const fills = [...view.endpoints].map(([id, identity]) => policyReplace(id, view.policies.get(identity)));
  const removals: MapOp[] = pinned
    .filter((map) => !view.endpoints.has(endpointOfMap(POLICY_MAPS, map.name) ?? -1))
    .map((map) => ({ map, kind: 'remove-map' as const }));
  const { ipcache, own } = snapshot;
  const maps = ipcache === undefined ? current.map(onlyNodeAddresses) : current;
  return [...fills, ...planReconcile(maps, desiredFromSnapshot(self, ipcache ?? [], own, view)), ...removals];
}
