// Applying planned operations: a policy map replaced with a complete entry set ends up holding
// exactly that set, rewriting only what changed; a removed map is gone; runs of puts to one map
// reach the backend as one putAll each, in order.
import { describe, expect, it } from 'vitest';
import { hexOf, type MapBackend } from '../../../src/datapath/backends/backend.js';
import { MemoryBackend } from '../../../src/datapath/backends/memory.js';
import { EntrySet } from '../../../src/datapath/entry-set.js';
import { encodeIpcacheKey, encodeIpcacheValue } from '../../../src/datapath/layout/ipcache.js';
import { encodeLxcKey, encodeLxcValue } from '../../../src/datapath/layout/lxc.js';
import { endpointMap, IPCACHE_MAP, LXC_MAP, POLICY_MAPS, type MapRef } from '../../../src/datapath/maps.js';
import { applyMapOps } from '../../../src/shim/agent/apply.js';
import type { MapOp } from '../../../src/shim/agent/plan.js';

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

describe('applyMapOps: runs of puts', () => {
  const ipPut = (n: number): MapOp => ({ map: IPCACHE_MAP, kind: 'put', key: encodeIpcacheKey(`10.0.0.${n}/32`), value: encodeIpcacheValue({ identity: 300 + n, tunnelEndpoint: null, encryptKey: 0 }) });
  const lxcPut = (n: number): MapOp => ({ map: LXC_MAP, kind: 'put', key: encodeLxcKey(`10.0.0.${n}`), value: encodeLxcValue({ ifindex: n, lxcId: n, flags: 0, mac: null, nodeMac: null, secId: 300 + n, parentIfindex: 0 }) });
  const ipDelete = (n: number): MapOp => ({ map: IPCACHE_MAP, kind: 'delete', key: encodeIpcacheKey(`10.0.0.${n}/32`) });

  /** Records each putAll (map and first octet of each key's address) and each delete. */
  function recording(memory: MemoryBackend): { backend: MapBackend; calls: string[] } {
    const calls: string[] = [];
    const tag = (m: MapRef, k: Uint8Array) => (m === IPCACHE_MAP ? k[11] : k[3]);
    return {
      calls,
      backend: Object.assign(Object.create(memory) as MemoryBackend, {
        putAll: (m: MapRef, entries: readonly { key: Uint8Array; value: Uint8Array }[]) => (calls.push(`${m.name} ${entries.map((e) => tag(m, e.key)).join(',')}`), memory.putAll(m, entries)),
        delete: (m: MapRef, k: Uint8Array) => (calls.push(`delete ${tag(m, k)}`), memory.delete(m, k)),
      }),
    };
  }

  it('writes each run with one putAll, in order, a run ending at another map or another kind of operation', () => {
    const memory = new MemoryBackend();
    const { backend, calls } = recording(memory);
    const ops = [ipPut(1), ipPut(2), lxcPut(3), lxcPut(4), ipDelete(1), ipPut(5)];
    expect(applyMapOps(backend, ops)).toBe(6);
    expect(calls).toEqual(['cilium_ipcache_v2 1,2', 'cilium_lxc 3,4', 'delete 1', 'cilium_ipcache_v2 5']);
    expect(memory.entries(IPCACHE_MAP).map(([k]) => k[11])).toEqual([2, 5]);
  });

  it('writes a put-set with one putSet, in order with the operations around it, counting each entry as a put', () => {
    const memory = new MemoryBackend();
    const calls: string[] = [];
    const backend = Object.assign(Object.create(memory) as MemoryBackend, {
      putSet: (m: MapRef, set: EntrySet) => (calls.push(`putSet ${set.entries().map(([k]) => k[11]).join(',')}`), memory.putSet(m, set)),
      delete: (m: MapRef, k: Uint8Array) => (calls.push(`delete ${k[11]}`), memory.delete(m, k)),
    });
    const set = new EntrySet(IPCACHE_MAP.layout.keySize, IPCACHE_MAP.layout.valueSize);
    for (const op of [ipPut(3), ipPut(4), ipPut(5)]) if (op.kind === 'put') set.set(op.key, op.value);
    expect(applyMapOps(backend, [ipPut(1), ipDelete(1), { map: IPCACHE_MAP, kind: 'put-set', entries: set }, ipDelete(4)])).toBe(2 + 3 + 1);
    expect(calls).toEqual(['delete 1', 'putSet 3,4,5', 'delete 4']);
    expect(memory.entries(IPCACHE_MAP).map(([k, v]) => [k[11], v[0]])).toEqual([[3, 303 & 255], [5, 305 & 255]]);
  });

  it('writes the puts a throwing source yielded before it threw, as if each had been applied as it came', () => {
    const memory = new MemoryBackend();
    function* source(): Generator<MapOp> {
      yield ipPut(1);
      yield ipPut(2);
      throw new Error('not a prefix: 10.0.0.300/32');
    }
    expect(() => applyMapOps(memory, source())).toThrow('not a prefix');
    expect(memory.entries(IPCACHE_MAP).map(([k]) => k[11])).toEqual([1, 2]);
  });
});
