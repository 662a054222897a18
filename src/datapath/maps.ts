// The pinned maps the agent writes, with Cilium v1.18's definitions (bpf/lib/eps.h, maps.h;
// pkg/maps/ipcache, pkg/maps/lxcmap). Pinned under <bpffs>/tc/globals/<name>.
import { IPCACHE_KEY, REMOTE_ENDPOINT_INFO } from './layout/ipcache.js';
import { ENDPOINT_INFO, ENDPOINT_KEY } from './layout/lxc.js';

export const BPF_MAP_TYPE_HASH = 1;
export const BPF_MAP_TYPE_LPM_TRIE = 11;
export const BPF_F_NO_PREALLOC = 1;

export type MapName = 'ipcache' | 'lxc';

export interface MapSpec {
  pinName: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

export const MAP_SPECS: Record<MapName, MapSpec> = {
  ipcache: { pinName: 'cilium_ipcache_v2', type: BPF_MAP_TYPE_LPM_TRIE, keySize: IPCACHE_KEY.size, valueSize: REMOTE_ENDPOINT_INFO.size, maxEntries: 512000, flags: BPF_F_NO_PREALLOC },
  // CONDITIONAL_PREALLOC is 0 with Cilium's default --preallocate-bpf-maps=true.
  lxc: { pinName: 'cilium_lxc', type: BPF_MAP_TYPE_HASH, keySize: ENDPOINT_KEY.size, valueSize: ENDPOINT_INFO.size, maxEntries: 65535, flags: 0 },
};

export const MAP_NAMES: readonly MapName[] = ['ipcache', 'lxc'];

/** `<bpffs>/tc/globals`, where Cilium pins its maps. */
export function pinDirectory(bpffs: string): string {
  return `${bpffs.replace(/\/+$/, '')}/tc/globals`;
}
