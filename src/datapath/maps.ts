// The pinned maps the agent writes, addressed by pin name + layout, with Cilium v1.18's
// definitions (bpf/lib/eps.h, maps.h, policy.h; pkg/maps/ipcache, lxcmap, policymap): two maps
// every node has, and one policy map per endpoint, named from a template. The agent owns a pin
// only if its layout is exactly this one: a map of another layout is refused, never replaced.
import { IPCACHE_KEY, REMOTE_ENDPOINT_INFO } from './layout/ipcache.js';
import { ENDPOINT_INFO, ENDPOINT_KEY } from './layout/lxc.js';
import { POLICY_ENTRY, POLICY_KEY } from './layout/policy.js';

export const BPF_MAP_TYPE_HASH = 1;
export const BPF_MAP_TYPE_ARRAY = 2;
export const BPF_MAP_TYPE_LPM_TRIE = 11;
export const BPF_F_NO_PREALLOC = 1;

const MAP_TYPE_NAMES: Record<number, string> = { [BPF_MAP_TYPE_HASH]: 'hash', [BPF_MAP_TYPE_ARRAY]: 'array', [BPF_MAP_TYPE_LPM_TRIE]: 'lpm_trie' };

/** What the kernel reports for a map (struct bpf_map_info) and what the agent creates. */
export interface MapLayout {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

/** One pinned map: its file name in the pin directory and its layout. */
export interface MapRef {
  name: string;
  layout: MapLayout;
}

export const IPCACHE_MAP: MapRef = {
  name: 'cilium_ipcache_v2',
  layout: { type: BPF_MAP_TYPE_LPM_TRIE, keySize: IPCACHE_KEY.size, valueSize: REMOTE_ENDPOINT_INFO.size, maxEntries: 512000, flags: BPF_F_NO_PREALLOC },
};

export const LXC_MAP: MapRef = {
  name: 'cilium_lxc',
  // CONDITIONAL_PREALLOC is 0 with Cilium's default --preallocate-bpf-maps=true.
  layout: { type: BPF_MAP_TYPE_HASH, keySize: ENDPOINT_KEY.size, valueSize: ENDPOINT_INFO.size, maxEntries: 65535, flags: 0 },
};

/** The maps every node has, opened at start; per-endpoint maps are opened as they are used. */
export const NODE_MAPS: readonly MapRef[] = [IPCACHE_MAP, LXC_MAP];

/** A family of per-endpoint maps: `<prefix><endpoint id, 5 digits>` (bpf.LocalMapName), one layout. */
export interface EndpointMapTemplate {
  prefix: string;
  layout: MapLayout;
}

/** `cilium_policy_v2_%05d` (policymap.MapName; bpf/lib/policy.h POLICY_MAP_SIZE, BPF_F_NO_PREALLOC). */
export const POLICY_MAPS: EndpointMapTemplate = {
  prefix: 'cilium_policy_v2_',
  layout: { type: BPF_MAP_TYPE_LPM_TRIE, keySize: POLICY_KEY.size, valueSize: POLICY_ENTRY.size, maxEntries: 16384, flags: BPF_F_NO_PREALLOC },
};

/**
 * idplane's own, not Cilium's: the reference datapath's packet counters of one endpoint
 * (src/datapath/bpf/reference.c): index direction * 2 + verdict, a u64 each.
 */
export const DATAPATH_COUNTERS_MAPS: EndpointMapTemplate = {
  prefix: 'idplane_datapath_counters_',
  layout: { type: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 },
};

/** Endpoint IDs are u16 on the wire; Cilium's node-local ones are 1..4095. */
const MAX_ENDPOINT_ID = 0xffff;

/** The map of one endpoint. */
export function endpointMap(template: EndpointMapTemplate, endpointId: number): MapRef {
  if (!Number.isInteger(endpointId) || endpointId < 0 || endpointId > MAX_ENDPOINT_ID) throw new Error(`not an endpoint ID: ${endpointId}`);
  return { name: `${template.prefix}${String(endpointId).padStart(5, '0')}`, layout: template.layout };
}

/** The endpoint a pin name of the family belongs to; undefined for any other name. */
export function endpointOfMap(template: EndpointMapTemplate, name: string): number | undefined {
  if (!name.startsWith(template.prefix)) return undefined;
  const digits = name.slice(template.prefix.length);
  if (!/^[0-9]{5}$/.test(digits)) return undefined;
  const id = Number(digits);
  return id <= MAX_ENDPOINT_ID ? id : undefined;
}

/** `<bpffs>/tc/globals`, where Cilium pins its maps (the default pin directory). */
export function defaultPinDirectory(bpffs: string): string {
  return `${bpffs.replace(/\/+$/, '')}/tc/globals`;
}

export function describeLayout(l: MapLayout): string {
  const type = MAP_TYPE_NAMES[l.type] ?? `type ${l.type}`;
  return `${type}, key ${l.keySize} B, value ${l.valueSize} B, ${l.maxEntries} entries, flags 0x${l.flags.toString(16)}`;
}

/** Why a map found at `path` is not the agent's `map`; undefined when its layout matches. */
export function layoutMismatch(map: MapRef, path: string, found: MapLayout): string | undefined {
  const want = map.layout;
  const same = found.type === want.type && found.keySize === want.keySize && found.valueSize === want.valueSize && found.maxEntries === want.maxEntries && found.flags === want.flags;
  if (same) return undefined;
  return `${path} is a map of another layout (${describeLayout(found)}); ${map.name} must be ${describeLayout(want)}. ` +
    'It was left untouched: idplane-agent takes the place of cilium-agent on a node and never writes beside it ' +
    '(stop the other writer and remove the pin, or point --pin-dir elsewhere)';
}

/** A pinned map the agent will not write: another layout, or a pin directory it cannot use. */
export class MapOwnershipError extends Error {
  override name = 'MapOwnershipError';
}
