// Applying planned map operations to a backend, and reading maps for reconciliation.
import type { MapBackend } from '../../datapath/backends/backend.js';
import type { MapRef } from '../../datapath/maps.js';
import type { MapContents, MapOp } from './plan.js';

export function applyMapOps(backend: MapBackend, ops: Iterable<MapOp>): number {
  let n = 0;
  for (const op of ops) {
    if (op.kind === 'put') backend.put(op.map, op.key, op.value);
    else backend.delete(op.map, op.key);
    n++;
  }
  return n;
}

export function readMaps(backend: MapBackend, maps: readonly MapRef[]): MapContents[] {
  return maps.map((map) => ({ map, entries: backend.entries(map) }));
}
