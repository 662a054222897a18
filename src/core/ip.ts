// Strict IP address parsing: dotted-quad IPv4 without leading zeros, RFC 4291 IPv6 text (with an
// optional embedded IPv4 tail), no prefixes or zones. Addresses are returned in canonical text
// form (RFC 5952 for IPv6) so that one address has one spelling in storage.
import { DomainError } from './errors.js';

export type IpFamily = 4 | 6;

export interface ParsedIp {
  family: IpFamily;
  /** Canonical text form. */
  text: string;
  /** Network-order bytes: 4 for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
}

export function parseIPv4(s: string): ParsedIp | undefined {
  const bytes = new Uint8Array(4);
  return parseIPv4Into(s, 0, s.length, bytes, 0) ? { family: 4, text: s, bytes } : undefined;
}

/**
 * Parses the dotted quad in s[start, end) into 4 bytes of `out` from `offset`; false when it is
 * not one (`out` then partly written). Hand-rolled and allocation-free: the agent parses every
 * ipcache prefix of a snapshot (100k) through here.
 */
function parseIPv4Into(s: string, start: number, end: number, out: Uint8Array, offset: number): boolean {
  let part = 0;
  let digits = 0;
  let value = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 46; // a final '.' closes the last octet
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[offset + part++] = value;
      digits = 0;
      value = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false; // leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

export function parseIPv6(s: string): ParsedIp | undefined {
  if (s.length === 0 || s.length > 45) return undefined;
  let head = s;
  const tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > 0) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    tail.push((v4.bytes[0]! << 8) | v4.bytes[1]!, (v4.bytes[2]! << 8) | v4.bytes[3]!);
    head = s.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const doubleColon = head.indexOf('::');
  if (doubleColon >= 0 && head.indexOf('::', doubleColon + 1) >= 0) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  const want = 8 - tail.length;
  if (doubleColon >= 0) {
    const left = parseGroups(head.slice(0, doubleColon));
    const right = parseGroups(head.slice(doubleColon + 2));
    if (!left || !right || left.length + right.length >= want) return undefined;
    groups = [...left, ...new Array<number>(want - left.length - right.length).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (!all || all.length !== want) return undefined;
    groups = all;
  }
  groups.push(...tail);
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return { family: 6, text: formatIPv6(groups), bytes };
}

/** RFC 5952: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
function formatIPv6(groups: number[]): string {
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    // IPv4-mapped addresses keep their dotted tail, as RFC 5952 §5 and Go's netip print them.
    const [hi, lo] = [groups[6]!, groups[7]!];
    return `::ffff:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parses an address of the given family, or either family when none is given. */
export function parseIp(s: string, family?: IpFamily): ParsedIp | undefined {
  if (family === 4) return parseIPv4(s);
  if (family === 6) return parseIPv6(s);
  return s.includes(':') ? parseIPv6(s) : parseIPv4(s);
}

function isIpv4Mapped(ip: ParsedIp): boolean {
  return ip.family === 6 && ip.bytes.subarray(0, 10).every((b) => b === 0) && ip.bytes[10] === 0xff && ip.bytes[11] === 0xff;
}

/**
 * The one parser of an address field (endpoint addressing, node addresses): a strict address of
 * the field's family in canonical form, null when absent, else `invalid-ip` naming the field. An
 * IPv4-mapped IPv6 address is the IPv4 address under a second spelling (two ipcache keys, one
 * host), so it is refused: IPv4 goes in the ipv4 field.
 */
export function parseIpField(field: string, text: string | undefined, family: IpFamily): ParsedIp | null {
  if (text === undefined) return null;
  const ip = parseIp(text, family);
  if (!ip) throw new DomainError('invalid-ip', `${field}: ${JSON.stringify(text)} is not an IPv${family} address`);
  if (isIpv4Mapped(ip)) throw new DomainError('invalid-ip', `${field}: ${JSON.stringify(text)} is IPv4-mapped; give the IPv4 address as ipv4`);
  return ip;
}

/** Why an address cannot be a pod's (unspecified, loopback, multicast, broadcast), or undefined. */
export function podAddressProblem(ip: ParsedIp): string | undefined {
  const b = ip.bytes;
  if (ip.family === 4) {
    if (b.every((x) => x === 0)) return 'the unspecified address';
    if (b[0] === 127) return 'a loopback address';
    if (b[0]! >= 224 && b[0]! <= 239) return 'a multicast address';
    if (b.every((x) => x === 255)) return 'the broadcast address';
    return undefined;
  }
  if (b.every((x) => x === 0)) return 'the unspecified address';
  if (b.subarray(0, 15).every((x) => x === 0) && b[15] === 1) return 'the loopback address';
  if (b[0] === 0xff) return 'a multicast address';
  return undefined;
}

/** An endpoint's address field: `parseIpField`, and an address a pod can hold. */
export function parsePodIpField(field: string, text: string | undefined, family: IpFamily): ParsedIp | null {
  const ip = parseIpField(field, text, family);
  const problem = ip && podAddressProblem(ip);
  if (problem) throw new DomainError('invalid-ip', `${field}: ${ip.text} is ${problem}, not a pod address`);
  return ip;
}

/** A node's tunnel endpoint address, as its pods' ipcache entries carry it: IPv4 preferred. */
export function tunnelIpOf(node: { ipv4: string | null; ipv6: string | null }): string | null {
  return node.ipv4 ?? node.ipv6;
}

/** The host prefix of an address in canonical text: `10.0.0.1/32`, `fd00::1/128`. */
export function hostPrefixOf(text: string, family: IpFamily): string {
  return `${text}/${family === 4 ? 32 : 128}`;
}

/** The host prefixes of an endpoint's or a node's addresses (IPv4 first), absent ones left out. */
export function hostPrefixesOf(a: { ipv4?: string | null; ipv6?: string | null }): string[] {
  return [a.ipv4 && hostPrefixOf(a.ipv4, 4), a.ipv6 && hostPrefixOf(a.ipv6, 6)].filter((p): p is string => Boolean(p));
}

export function hostPrefix(ip: ParsedIp): string {
  return hostPrefixOf(ip.text, ip.family);
}

/** Canonical text of network-order address bytes (the first 4 for IPv4, 16 for IPv6). */
export function formatIpBytes(bytes: Uint8Array, family: IpFamily): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  return formatIPv6(groups);
}

export interface ParsedPrefix {
  ip: ParsedIp;
  bits: number;
}

/** A prefix length: decimal, at most three digits, no leading zero (checked against the family by the caller). */
function parsePrefixLength(s: string, start: number): number | undefined {
  const digits = s.length - start;
  if (digits < 1 || digits > 3 || (digits > 1 && s.charCodeAt(start) === 48)) return undefined;
  let bits = 0;
  for (let i = start; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    bits = bits * 10 + d;
  }
  return bits;
}

/** The length of the prefix whose address (`size` bytes of `bytes` from `offset`) ends at `slash`: at most the address's bits, host bits zero. */
function prefixBitsOf(s: string, slash: number, bytes: Uint8Array, offset: number, size: number): number | undefined {
  const bits = parsePrefixLength(s, slash + 1);
  if (bits === undefined || bits > size * 8) return undefined;
  for (let i = bits; i < size * 8; i++) if ((bytes[offset + (i >> 3)]! >> (7 - (i & 7))) & 1) return undefined;
  return bits;
}

/** Parses `addr/bits` (host bits must be zero, as in a canonical prefix). Hand-rolled like parseIPv4, for the same reason. */
export function parsePrefix(s: string): ParsedPrefix | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  if (!ip) return undefined;
  const bits = prefixBitsOf(s, slash, ip.bytes, 0, ip.bytes.length);
  return bits === undefined ? undefined : { ip, bits };
}

/** A prefix's family by its spelling (a colon: IPv6), as parseIp tells addresses apart. */
export function prefixFamilyOf(s: string): IpFamily {
  return s.includes(':') ? 6 : 4;
}

/**
 * parsePrefix for a prefix of `family` (prefixFamilyOf), its address written into `out` from
 * `offset` (4 or 16 bytes) instead of a new array: its length in bits, or -1 when it is not one.
 * What a snapshot's 100k ipcache keys are encoded with, nothing allocated for IPv4.
 */
export function parsePrefixInto(s: string, family: IpFamily, out: Uint8Array, offset: number): number {
  const slash = s.indexOf('/');
  if (slash < 0) return -1;
  if (family === 4) {
    if (!parseIPv4Into(s, 0, slash, out, offset)) return -1;
    return prefixBitsOf(s, slash, out, offset, 4) ?? -1;
  }
  const p = parsePrefix(s);
  if (!p || p.ip.family !== 6) return -1;
  out.set(p.ip.bytes, offset);
  return p.bits;
}
