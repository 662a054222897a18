// Cilium v1.18 lxc map entries: `struct endpoint_key` and `struct endpoint_info`
// (bpf/lib/common.h), as pkg/maps/lxcmap writes them for a pod. Host-order integers.
import { formatIpBytes, parseIp } from '../../core/ip.js';
import { familyOf, ipFamilyOf } from './ipcache.js';

/** struct endpoint_key, __packed. */
export const ENDPOINT_KEY = { size: 20, addr: 0, addrSize: 16, family: 16, key: 17, clusterId: 18 } as const;

/** struct endpoint_info (4 bytes of implicit padding after flags; mac_t is a u64). */
export const ENDPOINT_INFO = { size: 48, ifindex: 0, unused: 4, lxcId: 6, flags: 8, mac: 16, nodeMac: 24, secId: 32, parentIfindex: 36 } as const;

export function encodeLxcKey(ip: string): Uint8Array {
  const p = parseIp(ip);
  if (!p) throw new Error(`not an address: ${ip}`);
  const out = new Uint8Array(ENDPOINT_KEY.size);
  out.set(p.bytes, ENDPOINT_KEY.addr);
  out[ENDPOINT_KEY.family] = familyOf(p);
  return out;
}

export function decodeLxcKey(key: Uint8Array): string {
  return formatIpBytes(key.subarray(ENDPOINT_KEY.addr, ENDPOINT_KEY.addr + ENDPOINT_KEY.addrSize), ipFamilyOf(key[ENDPOINT_KEY.family]!));
}

export interface LxcValue {
  ifindex: number;
  /** The Cilium endpoint ID. */
  lxcId: number;
  flags: number;
  /** Container-side MAC, `aa:bb:…`, or null. */
  mac: string | null;
  /** Host-side (veth) MAC, or null. */
  nodeMac: string | null;
  /** The numeric security identity. */
  secId: number;
  parentIfindex: number;
}

/** mac_t: the six MAC bytes in order, then two zero bytes (MAC.Uint64() on a little-endian host). */
function writeMac(out: Uint8Array, offset: number, mac: string | null): void {
  if (mac === null) return;
  mac.split(':').forEach((h, i) => (out[offset + i] = parseInt(h, 16)));
}

function readMac(bytes: Uint8Array, offset: number): string | null {
  const b = bytes.subarray(offset, offset + 6);
  if (b.every((x) => x === 0)) return null;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function encodeLxcValue(v: LxcValue): Uint8Array {
  const out = new Uint8Array(ENDPOINT_INFO.size);
  const dv = new DataView(out.buffer);
  dv.setUint32(ENDPOINT_INFO.ifindex, v.ifindex, true);
  dv.setUint16(ENDPOINT_INFO.lxcId, v.lxcId, true);
  dv.setUint32(ENDPOINT_INFO.flags, v.flags, true);
  writeMac(out, ENDPOINT_INFO.mac, v.mac);
  writeMac(out, ENDPOINT_INFO.nodeMac, v.nodeMac);
  dv.setUint32(ENDPOINT_INFO.secId, v.secId, true);
  dv.setUint32(ENDPOINT_INFO.parentIfindex, v.parentIfindex, true);
  return out;
}

export function decodeLxcValue(value: Uint8Array): LxcValue {
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return {
    ifindex: dv.getUint32(ENDPOINT_INFO.ifindex, true),
    lxcId: dv.getUint16(ENDPOINT_INFO.lxcId, true),
    flags: dv.getUint32(ENDPOINT_INFO.flags, true),
    mac: readMac(value, ENDPOINT_INFO.mac),
    nodeMac: readMac(value, ENDPOINT_INFO.nodeMac),
    secId: dv.getUint32(ENDPOINT_INFO.secId, true),
    parentIfindex: dv.getUint32(ENDPOINT_INFO.parentIfindex, true),
  };
}
