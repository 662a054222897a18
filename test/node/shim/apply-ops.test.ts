// Applying planned operations: a policy map replaced with a complete entry set ends up holding
// exactly that set, rewriting only what changed; a removed map is gone.
import { describe, expect, it } from 'vitest';
import { hexOf, type MapBackend } from '../../../src/datapath/backends/backend.js';
import { MemoryBackend } from '../../../src/datapath/backends/memory.js';
import { endpointMap, POLICY_MAPS, type MapRef } from '../../../src/datapath/maps.js';
import { applyMapOps } from '../../../src/shim/agent/apply.js';

const key = (n: number) => `28000000${n.toString(16).padStart(2, '0')}00000000000000`;
const entry = (n: number, value = '0000000000000000') => ({ key: key(n), value });
const contents = (backend: MemoryBackend, map: MapRef) => backend.entries(map).map(([k, v]) => `${hexOf(k)}=${hexOf(v)}`).sort();

/** Counts the writes and deletes a backend receives. */
function counting(backend: MemoryBackend): { backend: MapBackend; writes: string[] } {
  const writes: string[] = [];
  return {
    writes,
    backend: Object.assign(Object.create(backend) as MemoryBackend, {
      put: (m: MapRef, k: Uint8Array, v: Uint8Array) => (writes.push(`put ${hexOf(k)}`), backend.put(m, k, v)),
      delete: (m: MapRef, k: Uint8Array) => (writes.push(`delete ${hexOf(k)}`), backend.delete(m, k)),
    }),
  };
}

describe('applyMapOps', () => {
  const map = endpointMap(POLICY_MAPS, 12);

  it('replace: creates the map even with no entries', () => {
    const backend = new MemoryBackend();
    applyMapOps(backend, [{ map, kind: 'replace', entries: [] }]);
    expect(backend.pinnedMaps(POLICY_MAPS).map((m) => m.name)).toEqual(['cilium_policy_v2_00012']);
    expect(backend.entries(map)).toEqual([]);
  });

  it('replace: writes new and changed entries first, then deletes those no longer present, leaving equal ones alone', () => {
    const memory = new MemoryBackend();
    applyMapOps(memory, [{ map, kind: 'replace', entries: [entry(1), entry(2), entry(3)] }]);
    const { backend, writes } = counting(memory);
    applyMapOps(backend, [{ map, kind: 'replace', entries: [entry(1), entry(2, '0000010000000000'), entry(4)] }]);
    expect(writes).toEqual([`put ${key(2)}`, `put ${key(4)}`, `delete ${key(3)}`]);
    expect(contents(memory, map)).toEqual([`${key(1)}=0000000000000000`, `${key(2)}=0000010000000000`, `${key(4)}=0000000000000000`]);
  });

  it('remove-map: unpins the map', () => {
    const backend = new MemoryBackend();
    applyMapOps(backend, [{ map, kind: 'replace', entries: [entry(1)] }, { map, kind: 'remove-map' }]);
    expect(backend.pinnedMaps(POLICY_MAPS)).toEqual([]);
  });
});
