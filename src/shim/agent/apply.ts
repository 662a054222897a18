// Applying planned map operations to a backend, and reading maps for reconciliation.
import { hexOf, type MapBackend } from '../../datapath/backends/backend.js';
import type { MapRef } from '../../datapath/maps.js';
import type { MapOp } from './plan.js';
import type { MapContents } from './reconcile.js';

/** Sets a map to exactly `entries` (hex): missing and changed ones written first, then the others deleted. */
function replaceEntries(backend: MapBackend, map: MapRef, entries: readonly { key: string; value: string }[]): void {
  backend.openMap(map);
  const have = new Map(backend.entries(map).map(([k, v]) => [hexOf(k), { key: k, value: hexOf(v) }]));
  for (const e of entries) {
    if (have.get(e.key)?.value !== e.value) backend.put(map, Buffer.from(e.key, 'hex'), Buffer.from(e.value, 'hex'));
    have.delete(e.key);
  }
  for (const { key } of have.values()) backend.delete(map, key);
}

export function applyMapOps(backend: MapBackend, ops: Iterable<MapOp>): number {
  let n = 0;
  for (const op of ops) {
    switch (op.kind) {
      case 'put':
        backend.put(op.map, op.key, op.value);
        break;
      case 'delete':
        backend.delete(op.map, op.key);
        break;
      case 'replace':
        replaceEntries(backend, op.map, op.entries);
        break;
      case 'remove-map':
        backend.removeMap(op.map);
        break;
    }
    n++;
  }
  return n;
}

export function readMaps(backend: MapBackend, maps: readonly MapRef[]): MapContents[] {
  return maps.map((map) => ({ map, entries: backend.entries(map) }));
}
