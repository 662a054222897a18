// Map ownership: a map of another layout is refused with what was found and what is expected,
// and nothing in it is written or deleted.
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/datapath/backends/memory.js';
import {
  BPF_F_NO_PREALLOC, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE, endpointMap, endpointOfMap, IPCACHE_MAP, layoutMismatch, LXC_MAP, MapOwnershipError, NODE_MAPS,
  POLICY_MAPS, type MapLayout,
} from '../../../src/datapath/maps.js';

const ipcache = IPCACHE_MAP.layout;
const EXPECTED = 'cilium_ipcache_v2 must be lpm_trie, key 24 B, value 24 B, 512000 entries, flags 0x1';

describe('layoutMismatch', () => {
  it.each<{ name: string; found: MapLayout; says: string | undefined }>([
    { name: 'the same layout', found: { ...ipcache }, says: undefined },
    { name: 'another type', found: { ...ipcache, type: BPF_MAP_TYPE_HASH, flags: 0 }, says: 'hash, key 24 B, value 24 B, 512000 entries, flags 0x0' },
    { name: "v1.16's 12-byte value", found: { ...ipcache, valueSize: 12 }, says: 'lpm_trie, key 24 B, value 12 B, 512000 entries, flags 0x1' },
    { name: 'another key size', found: { ...ipcache, keySize: 20 }, says: 'lpm_trie, key 20 B, value 24 B, 512000 entries, flags 0x1' },
    { name: 'fewer entries', found: { ...ipcache, maxEntries: 1024 }, says: 'lpm_trie, key 24 B, value 24 B, 1024 entries, flags 0x1' },
    { name: 'other flags', found: { ...ipcache, flags: BPF_F_NO_PREALLOC | 8 }, says: 'lpm_trie, key 24 B, value 24 B, 512000 entries, flags 0x9' },
    { name: 'an unnamed type', found: { ...ipcache, type: 9 }, says: 'type 9, key 24 B, value 24 B, 512000 entries, flags 0x1' },
  ])('$name', ({ found, says }) => {
    const message = layoutMismatch(IPCACHE_MAP, '/sys/fs/bpf/tc/globals/cilium_ipcache_v2', found);
    if (says === undefined) return expect(message).toBeUndefined();
    expect(message).toContain(`/sys/fs/bpf/tc/globals/cilium_ipcache_v2 is a map of another layout (${says}); ${EXPECTED}`);
    expect(message).toContain('takes the place of cilium-agent');
  });
});

describe('MemoryBackend ownership', () => {
  it('refuses a map of the same name and another layout, leaving its entries as they were', () => {
    const backend = new MemoryBackend();
    const foreign = { name: IPCACHE_MAP.name, layout: { type: BPF_MAP_TYPE_LPM_TRIE, keySize: 24, valueSize: 12, maxEntries: 512000, flags: BPF_F_NO_PREALLOC } };
    expect(backend.openMap(foreign)).toBe(true);
    backend.put(foreign, new Uint8Array(24).fill(1), new Uint8Array(12).fill(2));
    expect(() => backend.openMap(IPCACHE_MAP)).toThrow(MapOwnershipError);
    expect(() => backend.put(IPCACHE_MAP, new Uint8Array(24), new Uint8Array(24))).toThrow(/value 12 B/);
    expect(backend.entries(foreign)).toEqual([[new Uint8Array(24).fill(1), new Uint8Array(12).fill(2)]]);
  });

  it('openMaps creates none when one existing map is refused', () => {
    const backend = new MemoryBackend();
    const foreignLxc = { name: LXC_MAP.name, layout: { ...LXC_MAP.layout, maxEntries: 1024 } };
    backend.openMap(foreignLxc);
    expect(() => backend.openMaps(NODE_MAPS)).toThrow(/cilium_lxc is a map of another layout/);
    expect(backend.openMap(IPCACHE_MAP)).toBe(true); // it had not been created
  });
});

describe('per-endpoint policy maps (cilium_policy_v2_%05d)', () => {
  it("have Cilium v1.18's layout: LPM trie, 12-byte key, 8-byte value, 16384 entries, BPF_F_NO_PREALLOC", () => {
    expect(POLICY_MAPS.layout).toEqual({ type: BPF_MAP_TYPE_LPM_TRIE, keySize: 12, valueSize: 8, maxEntries: 16384, flags: BPF_F_NO_PREALLOC });
  });

  it.each([
    { id: 1, name: 'cilium_policy_v2_00001' },
    { id: 42, name: 'cilium_policy_v2_00042' },
    { id: 4095, name: 'cilium_policy_v2_04095' },
    { id: 65535, name: 'cilium_policy_v2_65535' },
  ])('endpoint $id → $name and back', ({ id, name }) => {
    expect(endpointMap(POLICY_MAPS, id)).toEqual({ name, layout: POLICY_MAPS.layout });
    expect(endpointOfMap(POLICY_MAPS, name)).toBe(id);
  });

  it.each(['cilium_policy_v2_1', 'cilium_policy_v2_000042', 'cilium_policy_v2_99999', 'cilium_policy_v2_0004x', 'cilium_policy_00042', 'cilium_lxc'])(
    '%s is not a policy map of an endpoint',
    (name) => expect(endpointOfMap(POLICY_MAPS, name)).toBeUndefined(),
  );

  it.each([-1, 65536, 1.5])('endpoint ID %s has no map', (id) => expect(() => endpointMap(POLICY_MAPS, id)).toThrow(/not an endpoint ID/));

  it('a policy map of another layout is refused and left as it was; the backend lists and removes its own', () => {
    const backend = new MemoryBackend();
    const foreign = { name: 'cilium_policy_v2_00007', layout: { ...POLICY_MAPS.layout, maxEntries: 1024 } };
    backend.put(foreign, new Uint8Array(12).fill(1), new Uint8Array(8));
    const own = endpointMap(POLICY_MAPS, 8);
    backend.put(own, new Uint8Array(12), new Uint8Array(8));
    backend.openMap(IPCACHE_MAP);
    expect(backend.pinnedMaps(POLICY_MAPS).map((m) => m.name)).toEqual(['cilium_policy_v2_00007', 'cilium_policy_v2_00008']);
    expect(() => backend.openMaps(backend.pinnedMaps(POLICY_MAPS))).toThrow(/cilium_policy_v2_00007 is a map of another layout \(lpm_trie, key 12 B, value 8 B, 1024 entries, flags 0x1\)/);
    expect(() => backend.removeMap(endpointMap(POLICY_MAPS, 7))).toThrow(MapOwnershipError);
    expect(backend.entries(foreign)).toHaveLength(1);
    backend.removeMap(own);
    backend.removeMap(own); // already gone: nothing to do
    expect(backend.pinnedMaps(POLICY_MAPS).map((m) => m.name)).toEqual(['cilium_policy_v2_00007']);
  });
});
