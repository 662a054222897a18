// Map ownership: a map of another layout is refused with what was found and what is expected,
// and nothing in it is written or deleted.
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/datapath/backends/memory.js';
import { BPF_F_NO_PREALLOC, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE, IPCACHE_MAP, layoutMismatch, LXC_MAP, MapOwnershipError, NODE_MAPS, type MapLayout } from '../../../src/datapath/maps.js';

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
    { name: 'an unnamed type', found: { ...ipcache, type: 2 }, says: 'type 2, key 24 B, value 24 B, 512000 entries, flags 0x1' },
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
