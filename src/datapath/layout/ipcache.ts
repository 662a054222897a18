// Cilium v1.18 ipcache map entries: `struct ipcache_key` (bpf/lib/eps.h) and
// `struct remote_endpoint_info` (bpf/lib/common.h), as pkg/maps/ipcache writes them. Integers are
// host order (little-endian here), addresses network order.
import { formatIpBytes, parseIp, parsePrefixInto, prefixFamilyOf, type ParsedIp } from '../../core/ip.js';

/** struct ipcache_key, __packed: the LPM trie header then cluster, family and address. */
export const IPCACHE_KEY = { size: 24, prefixlen: 0, lpmHeaderSize: 4, clusterId: 4, pad1: 6, family: 7, addr: 8, addrSize: 16 } as const;
/** Bits of the key before the address that every lookup matches exactly (IPCACHE_STATIC_PREFIX). */
export const IPCACHE_STATIC_PREFIX_BITS = 8 * (IPCACHE_KEY.size - IPCACHE_KEY.lpmHeaderSize - IPCACHE_KEY.addrSize);

/** struct remote_endpoint_info: identity, tunnel endpoint, encrypt key, flag bits. */
export const REMOTE_ENDPOINT_INFO = { size: 24, secIdentity: 0, tunnelEndpoint: 4, pad: 20, key: 22, flags: 23 } as const;
export const IPCACHE_FLAG_SKIP_TUNNEL = 1 << 0;
export const IPCACHE_FLAG_HAS_TUNNEL_EP = 1 << 1;
export const IPCACHE_FLAG_IPV6_TUNNEL_EP = 1 << 2;

/** ENDPOINT_KEY_IPV4 / ENDPOINT_KEY_IPV6 (bpf/lib/common.h), shared by the ipcache and lxc keys. */
export const FAMILY_IPV4 = 1;
export const FAMILY_IPV6 = 2;

export function familyOf(ip: ParsedIp): number {
  return ip.family === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
}

/**
 * Little-endian integers written byte by byte: the encoders run per ipcache entry (100k in a
 * snapshot), and a DataView on a small array's buffer costs more than the whole encoding.
 */
function setUint16LE(out: Uint8Array, offset: number, v: number): void {
  out[offset] = v & 0xff;
  out[offset + 1] = (v >>> 8) & 0xff;
}

function setUint32LE(out: Uint8Array, offset: number, v: number): void {
  setUint16LE(out, offset, v & 0xffff);
  setUint16LE(out, offset + 2, v >>> 16);
}

export function encodeIpcacheKey(prefix: string, clusterId = 0): Uint8Array {
  return writeIpcacheKey(new Uint8Array(IPCACHE_KEY.size), prefix, clusterId);
}

/** encodeIpcacheKey into `out` (IPCACHE_KEY.size bytes, overwritten): a snapshot encodes 100k into one. */
export function writeIpcacheKey(out: Uint8Array, prefix: string, clusterId = 0): Uint8Array {
  const family = prefixFamilyOf(prefix);
  const bits = parsePrefixInto(prefix, family, out, IPCACHE_KEY.addr);
  if (bits < 0) throw new Error(`not a prefix: ${prefix}`);
  setUint32LE(out, IPCACHE_KEY.prefixlen, IPCACHE_STATIC_PREFIX_BITS + bits);
  setUint16LE(out, IPCACHE_KEY.clusterId, clusterId);
  out[IPCACHE_KEY.pad1] = 0;
  out[IPCACHE_KEY.family] = family === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  // Zero after an IPv4 address, byte by byte: fill() costs more than this on 12 bytes.
  for (let i = family === 4 ? 4 : 16; i < IPCACHE_KEY.addrSize; i++) out[IPCACHE_KEY.addr + i] = 0;
  return out;
}

/** Cilium's key family (ENDPOINT_KEY_IPV4/IPV6) as an IP family. */
export function ipFamilyOf(family: number): 4 | 6 {
  if (family === FAMILY_IPV4) return 4;
  if (family === FAMILY_IPV6) return 6;
  throw new Error(`unknown family ${family}`);
}

export function decodeIpcacheKey(key: Uint8Array): { prefix: string; clusterId: number } {
  const dv = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const bits = dv.getUint32(IPCACHE_KEY.prefixlen, true) - IPCACHE_STATIC_PREFIX_BITS;
  const addr = formatIpBytes(key.subarray(IPCACHE_KEY.addr, IPCACHE_KEY.addr + IPCACHE_KEY.addrSize), ipFamilyOf(key[IPCACHE_KEY.family]!));
  return { prefix: `${addr}/${bits}`, clusterId: dv.getUint16(IPCACHE_KEY.clusterId, true) };
}

export interface IpcacheValue {
  identity: number;
  /** The node to tunnel to; null for this node's own pods (pkg/datapath/ipcache/listener.go). */
  tunnelEndpoint: string | null;
  encryptKey: number;
}

/** Encodes a value; `parse` lets a caller reuse parsed tunnel endpoints (a few nodes, many pods). */
export function encodeIpcacheValue(v: IpcacheValue, parse: (ip: string) => ParsedIp | undefined = parseIp): Uint8Array {
  return writeIpcacheValue(new Uint8Array(REMOTE_ENDPOINT_INFO.size), v.identity, v.tunnelEndpoint, v.encryptKey, parse);
}

/** encodeIpcacheValue into `out` (REMOTE_ENDPOINT_INFO.size bytes, overwritten), its fields one by one: no object per entry. */
export function writeIpcacheValue(out: Uint8Array, identity: number, tunnelEndpoint: string | null, encryptKey: number, parse: (ip: string) => ParsedIp | undefined = parseIp): Uint8Array {
  out.fill(0);
  setUint32LE(out, REMOTE_ENDPOINT_INFO.secIdentity, identity);
  out[REMOTE_ENDPOINT_INFO.key] = encryptKey;
  if (tunnelEndpoint !== null) {
    const ip = parse(tunnelEndpoint);
    if (!ip) throw new Error(`not an address: ${tunnelEndpoint}`);
    out.set(ip.bytes, REMOTE_ENDPOINT_INFO.tunnelEndpoint);
    out[REMOTE_ENDPOINT_INFO.flags] = IPCACHE_FLAG_HAS_TUNNEL_EP | (ip.family === 6 ? IPCACHE_FLAG_IPV6_TUNNEL_EP : 0);
  }
  return out;
}

/** The identity of a value alone: a restart sorts a whole ipcache by it, with nothing else decoded. */
export function ipcacheIdentityOf(value: Uint8Array): number {
  const at = REMOTE_ENDPOINT_INFO.secIdentity;
  return (value[at]! | (value[at + 1]! << 8) | (value[at + 2]! << 16) | (value[at + 3]! << 24)) >>> 0;
}

export function decodeIpcacheValue(value: Uint8Array): IpcacheValue & { flags: number } {
  const flags = value[REMOTE_ENDPOINT_INFO.flags]!;
  const tunnel = value.subarray(REMOTE_ENDPOINT_INFO.tunnelEndpoint, REMOTE_ENDPOINT_INFO.tunnelEndpoint + 16);
  return {
    identity: ipcacheIdentityOf(value),
    tunnelEndpoint: flags & IPCACHE_FLAG_HAS_TUNNEL_EP ? formatIpBytes(tunnel, flags & IPCACHE_FLAG_IPV6_TUNNEL_EP ? 6 : 4) : null,
    encryptKey: value[REMOTE_ENDPOINT_INFO.key]!,
    flags,
  };
}
