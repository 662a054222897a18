// Cilium v1.18 per-endpoint policy map entries (`cilium_policy_v2_%05d`, an LPM trie):
// `struct policy_key` and `struct policy_entry` (bpf/lib/common.h), as pkg/maps/policymap writes
// them (NewKeyFromPolicyKey / NewEntryFromPolicyEntry). Integers are host order (little-endian
// here) except the port, which is network order. POLICY.md §1 has the field-by-field table.
import type { IdentityPolicy, PolicyEntry } from '../../core/policy/entries.js';

/** struct policy_key: the LPM trie header, then identity, direction bit, protocol and port. */
export const POLICY_KEY = { size: 12, prefixlen: 0, lpmHeaderSize: 4, secLabel: 4, egress: 8, protocol: 9, dport: 10 } as const;
/** struct policy_entry: proxy port, flags (deny, LPM length), auth, proxy priority, padding. */
export const POLICY_ENTRY = { size: 8, proxyPort: 0, flags: 2, auth: 3, proxyPortPriority: 4, pad1: 5, pad2: 6 } as const;

/** POLICY_FULL_PREFIX: every bit after the LPM header. */
export const POLICY_FULL_PREFIX_BITS = 8 * (POLICY_KEY.size - POLICY_KEY.lpmHeaderSize);
/** Bits of protocol plus port (LPM_FULL_PREFIX_BITS); the identity and direction byte are always matched. */
export const POLICY_PROTO_PORT_BITS = 8 * (POLICY_KEY.size - POLICY_KEY.protocol);
/** The protocol's share of those bits (LPM_PROTO_PREFIX_BITS). */
export const POLICY_PROTO_BITS = 8 * (POLICY_KEY.dport - POLICY_KEY.protocol);
/** Go's StaticPrefixBits: identity and direction byte, matched exactly by every key. */
export const POLICY_STATIC_PREFIX_BITS = POLICY_FULL_PREFIX_BITS - POLICY_PROTO_PORT_BITS;

export const POLICY_FLAG_DENY = 1;
/** The entry's LPM prefix length P (0..24) sits in the top five bits of the flags byte. */
export const POLICY_FLAG_LPM_SHIFT = 3;

export const TRAFFIC_INGRESS = 0;
export const TRAFFIC_EGRESS = 1;
export type TrafficDirection = typeof TRAFFIC_INGRESS | typeof TRAFFIC_EGRESS;

export interface PolicyKey {
  identity: number;
  direction: TrafficDirection;
  /** IANA protocol number; 0 = any (then the port is 0 too). */
  protocol: number;
  /** First port of the masked block; 0 = all ports. */
  port: number;
  /** P: 0 (any protocol), 8 (protocol, all ports), 8 + n (n leading port bits), 24 (exact port). */
  prefixLength: number;
}

export interface PolicyValue {
  deny: boolean;
  /** Same P as the key (PolicyEntry.IsValid). */
  prefixLength: number;
  proxyPort: number;
  authType: number;
  proxyPortPriority: number;
}

export function encodePolicyKey(k: PolicyKey): Uint8Array {
  const out = new Uint8Array(POLICY_KEY.size);
  const dv = new DataView(out.buffer);
  dv.setUint32(POLICY_KEY.prefixlen, POLICY_STATIC_PREFIX_BITS + k.prefixLength, true);
  dv.setUint32(POLICY_KEY.secLabel, k.identity, true);
  out[POLICY_KEY.egress] = k.direction;
  out[POLICY_KEY.protocol] = k.protocol;
  dv.setUint16(POLICY_KEY.dport, k.port, false);
  return out;
}

export function decodePolicyKey(key: Uint8Array): PolicyKey {
  const dv = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return {
    identity: dv.getUint32(POLICY_KEY.secLabel, true),
    direction: (key[POLICY_KEY.egress]! & 1) as TrafficDirection,
    protocol: key[POLICY_KEY.protocol]!,
    port: dv.getUint16(POLICY_KEY.dport, false),
    prefixLength: dv.getUint32(POLICY_KEY.prefixlen, true) - POLICY_STATIC_PREFIX_BITS,
  };
}

/** A deny entry carries only its flags (types.NewMapStateEntry zeroes proxy, auth and priority). */
export function encodePolicyValue(v: PolicyValue): Uint8Array {
  const out = new Uint8Array(POLICY_ENTRY.size);
  out[POLICY_ENTRY.flags] = (v.prefixLength << POLICY_FLAG_LPM_SHIFT) | (v.deny ? POLICY_FLAG_DENY : 0);
  if (!v.deny) {
    new DataView(out.buffer).setUint16(POLICY_ENTRY.proxyPort, v.proxyPort, false);
    out[POLICY_ENTRY.auth] = v.authType;
    out[POLICY_ENTRY.proxyPortPriority] = v.proxyPortPriority;
  }
  return out;
}

export function decodePolicyValue(value: Uint8Array): PolicyValue {
  const flags = value[POLICY_ENTRY.flags]!;
  return {
    deny: (flags & POLICY_FLAG_DENY) !== 0,
    prefixLength: flags >> POLICY_FLAG_LPM_SHIFT,
    proxyPort: new DataView(value.buffer, value.byteOffset, value.byteLength).getUint16(POLICY_ENTRY.proxyPort, false),
    authType: value[POLICY_ENTRY.auth]!,
    proxyPortPriority: value[POLICY_ENTRY.proxyPortPriority]!,
  };
}

function toHex(b: Uint8Array): string {
  let out = '';
  for (const x of b) out += x.toString(16).padStart(2, '0');
  return out;
}

/** A computed entry with its map bytes (lowercase hex), as the policy API and the agent use them. */
export interface PolicyMapEntry extends PolicyEntry {
  key: string;
  value: string;
}

export function encodePolicyEntry(e: PolicyEntry): PolicyMapEntry {
  const direction = e.direction === 'egress' ? TRAFFIC_EGRESS : TRAFFIC_INGRESS;
  const key = encodePolicyKey({ identity: e.identity, direction, protocol: e.protocol, port: e.port, prefixLength: e.prefixLength });
  const value = encodePolicyValue({ deny: e.verdict === 'deny', prefixLength: e.prefixLength, proxyPort: 0, authType: 0, proxyPortPriority: 0 });
  return { key: toHex(key), value: toHex(value), ...e };
}

/** An identity's entries with their bytes, sorted by key bytes (hex order is byte order). */
export function encodeIdentityPolicy(p: IdentityPolicy): { ingressEnforced: boolean; egressEnforced: boolean; entries: PolicyMapEntry[] } {
  const entries = p.entries.map(encodePolicyEntry).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { ingressEnforced: p.ingressEnforced, egressEnforced: p.egressEnforced, entries };
}
