// Applying planned map operations to a backend.
import type { MapBackend } from '../../datapath/backends/backend.js';
import type { MapOp } from './plan.js';

export function applyMapOps(backend: MapBackend, ops: Iterable<MapOp>): number {
  let n = 0;
  for (const op of ops) {
    if (op.kind === 'put') backend.put(op.map, op.key, op.value);
    else backend.delete(op.map, op.key);
    n++;
  }
  return n;
}
