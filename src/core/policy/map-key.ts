// Policy map keys as Cilium's userspace mapState holds them (pkg/policy/types/types.go): direction,
// protocol and a masked port, per remote identity; with the coverage relation its trie encodes
// and the LPM length P the BPF key gets (policymap.NewKeyFromPolicyKey).

export const INGRESS = 0;
export const EGRESS = 1;
export type Direction = typeof INGRESS | typeof EGRESS;

export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_SCTP = 132;

/** LPM_PROTO_PREFIX_BITS: the protocol's share of P. */
const PROTO_PREFIX_BITS = 8;

/** The port/protocol part of a key; the remote identity is held beside it. */
export interface PortProtoKey {
  direction: Direction;
  /** IANA protocol; 0 = any, then the port is 0 too. */
  protocol: number;
  /** Block start, masked to `portBits`. */
  port: number;
  /** Leading port bits matched (0–16). */
  portBits: number;
}

/** One number per port/protocol key, for maps. */
export function packKey(k: PortProtoKey): number {
  return k.direction * 2 ** 32 + k.protocol * 2 ** 24 + k.portBits * 2 ** 16 + k.port;
}

export function unpackKey(n: number): PortProtoKey {
  return {
    direction: Math.floor(n / 2 ** 32) as Direction,
    protocol: Math.floor(n / 2 ** 24) % 256,
    portBits: Math.floor(n / 2 ** 16) % 256,
    port: n % 2 ** 16,
  };
}

/** Key.WithPortProtoPrefix: the port masked to its prefix; a non-zero port needs bits (else exact). */
export function portProtoKey(direction: Direction, protocol: number, port: number, portBits: number): PortProtoKey {
  const bits = portBits > 16 || (port !== 0 && portBits === 0) ? 16 : portBits;
  const mask = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
  return { direction, protocol, port: port & mask, portBits: bits };
}

/** Whether `a` covers `b` (broader or equal): same direction and a protocol-any `a`, or the same protocol and a covering port block. */
export function covers(a: PortProtoKey, b: PortProtoKey): boolean {
  if (a.direction !== b.direction) return false;
  if (a.protocol === 0) return true;
  if (a.protocol !== b.protocol || a.portBits > b.portBits) return false;
  const mask = a.portBits === 0 ? 0 : (0xffff << (16 - a.portBits)) & 0xffff;
  return (a.port & mask) === (b.port & mask);
}

/** The packed keys that may cover `k` (the trie's ancestors): protocol-any, then each shorter port block. */
export function coveringKeys(k: PortProtoKey): number[] {
  const base = k.direction * 2 ** 32;
  const out = [base];
  if (k.protocol === 0) return out;
  for (let bits = 0; bits <= k.portBits; bits++) {
    const mask = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
    out.push(base + k.protocol * 2 ** 24 + bits * 2 ** 16 + (k.port & mask));
  }
  return out;
}

/** P of the BPF key (NewKeyFromPolicyKey): 0, 8 for a protocol, 8 + port bits for a non-zero port. */
export function lpmPrefixLength(k: PortProtoKey): number {
  if (k.protocol === 0 && k.port === 0) return 0;
  return PROTO_PREFIX_BITS + (k.port !== 0 ? k.portBits : 0);
}

/** The last port of a block (LPMKey.EndPort). */
export function blockEndPort(k: PortProtoKey): number {
  return k.port + (0xffff >> k.portBits);
}
