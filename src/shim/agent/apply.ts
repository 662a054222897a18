// Applying planned map operations to a backend, and reading maps for reconciliation.
import { hexOf, type MapBackend, type MapEntry } from '../../datapath/backends/backend.js';
import type { MapRef } from '../../datapath/maps.js';
import type { MapOp } from './plan.js';
import type { MapContents } from './reconcile.js';

/** Consecutive puts to one map held before they are written together: bounds what a long run of them holds. */
const PUT_RUN = 4096;

/** Sets a map to exactly `entries` (hex): missing and changed ones written first, then the others deleted. */
function replaceEntries(backend: MapBackend, map: MapRef, entries: readonly { key: string; value: string }[]): void {
  backend.openMap(map);
  const have = new Map(backend.entries(map).map(([k, v]) => [hexOf(k), { key: k, value: hexOf(v) }]));
  const puts: MapEntry[] = [];
  for (const e of entries) {
    if (have.get(e.key)?.value !== e.value) puts.push({ key: Buffer.from(e.key, 'hex'), value: Buffer.from(e.value, 'hex') });
    have.delete(e.key);
  }
  backend.putAll(map, puts);
  for (const { key } of have.values()) backend.delete(map, key);
}

/** Consecutive puts to one map, held to be written with one `putAll`. */
class PutRun {
  private map: MapRef | undefined;
  private entries: MapEntry[] = [];

  constructor(private readonly backend: MapBackend) {}

  add(op: MapOp & { kind: 'put' }): void {
    if (this.map && (this.map.name !== op.map.name || this.entries.length >= PUT_RUN)) this.flush();
    this.map = op.map;
    this.entries.push(op);
  }

  /** Writes the held puts; they are let go first, so a failed write is not tried again. */
  flush(): void {
    const { map, entries } = this;
    this.map = undefined;
    this.entries = [];
    if (map) this.backend.putAll(map, entries);
  }
}

/**
 * Applies operations in order, runs of puts to one map in one `putAll` (the same writes in the
 * same order, in fewer system calls). When the operations' source throws, the puts it yielded
 * before are written first, as if each had been applied as it came. Returns how many were
 * applied, each entry of a put-set counted as the put it is.
 */
export function applyMapOps(backend: MapBackend, ops: Iterable<MapOp>): number {
  const run = new PutRun(backend);
  let n = 0;
  try {
    for (const op of ops) {
      n++;
      if (op.kind === 'put') {
        run.add(op);
        continue;
      }
      run.flush();
      switch (op.kind) {
        case 'put-set':
          n += op.entries.size - 1;
          backend.putSet(op.map, op.entries);
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
    }
  } finally {
    run.flush();
  }
  return n;
}

export function readMaps(backend: MapBackend, maps: readonly MapRef[]): MapContents[] {
  return maps.map((map) => ({ map, entries: backend.entrySet(map) }));
}
