// The Go parsers whose verdicts (and error texts) Cilium's policy sanitizer passes on: strconv
// ParseUint(s, 0, 16) for ports, net.ParseCIDR for the CRD's `format: cidr`, netip.ParsePrefix for
// CIDR rules. Only what a policy can reach is mirrored; addresses use idplane's strict parser,
// which accepts exactly Go's netip.ParseAddr forms without zones.
import { parseIp, type ParsedIp } from '../ip.js';
import { goQuote } from './k8s-field-errors.js';

export type ParseUintResult = { ok: true; value: number } | { ok: false; message: string };

function lower(c: string): string {
  return c.toLowerCase();
}

/** strconv.underscoreOK: underscores only between digits (or after a base prefix). */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes(lower(s[1]!))) {
    i = 2;
    saw = '0';
    hex = lower(s[1]!) === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
      saw = '0';
    } else if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
    } else {
      if (saw === '_') return false;
      saw = '!';
    }
  }
  return saw !== '_';
}

/** strconv.ParseUint(s, 0, 16): base prefixes 0b/0o/0x, a leading 0 is octal, `_` separators. */
export function parseUint16Base0(s0: string): ParseUintResult {
  const fail = (why: string): ParseUintResult => ({ ok: false, message: `strconv.ParseUint: parsing ${goQuote(s0)}: ${why}` });
  if (s0 === '') return fail('invalid syntax');
  let s = s0;
  let base = 10;
  if (s[0] === '0') {
    const p = s.length >= 3 ? lower(s[1]!) : '';
    base = p === 'b' ? 2 : p === 'o' ? 8 : p === 'x' ? 16 : 8;
    s = s.slice(base === 8 && p !== 'o' ? 1 : 2);
  }
  let n = 0;
  let underscores = false;
  for (const c of s) {
    let d: number;
    if (c === '_') {
      underscores = true;
      continue;
    } else if (c >= '0' && c <= '9') {
      d = c.charCodeAt(0) - 48;
    } else if (lower(c) >= 'a' && lower(c) <= 'z') {
      d = lower(c).charCodeAt(0) - 87;
    } else {
      return fail('invalid syntax');
    }
    if (d >= base) return fail('invalid syntax');
    n = n * base + d;
    if (n > 0xffff) return fail('value out of range');
  }
  if (underscores && !underscoreOK(s0)) return fail('invalid syntax');
  return { ok: true, value: n };
}

export interface GoPrefix {
  ip: ParsedIp;
  bits: number;
}

/** net.ParseCIDR's acceptance (the CRD's `format: cidr`): `addr/bits`, bits decimal (leading zeros allowed). */
export function isGoCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const ip = parseIp(s.slice(0, slash));
  const mask = s.slice(slash + 1);
  if (!ip || !/^[0-9]+$/.test(mask)) return false;
  return Number(mask) <= ip.bytes.length * 8;
}

/**
 * netip.ParsePrefix on a string that already passed `isGoCidr`: the two differ only in the prefix
 * length, which netip refuses with a leading zero (`10.0.0.0/08`).
 */
export function parseGoPrefix(s: string): { ok: true; prefix: GoPrefix } | { ok: false; message: string } {
  const slash = s.lastIndexOf('/');
  const bitsText = s.slice(slash + 1);
  if (bitsText.length > 1 && bitsText[0] === '0') {
    return { ok: false, message: `netip.ParsePrefix(${goQuote(s)}): bad bits after slash: ${goQuote(bitsText)}` };
  }
  return { ok: true, prefix: { ip: parseIp(s.slice(0, slash))!, bits: Number(bitsText) } };
}

/** netip.ParseAddr's complaint about the `/bits` tail of a prefix that failed netip.ParsePrefix. */
export function goParseAddrError(s: string): string {
  const slash = s.lastIndexOf('/');
  const addr = s.slice(0, slash);
  const tail = goQuote(s.slice(slash));
  if (!addr.includes(':')) return `ParseAddr(${goQuote(s)}): unexpected character (at ${tail})`;
  if (addr.endsWith('::')) return `ParseAddr(${goQuote(s)}): each colon-separated field must have at least one digit (at ${tail})`;
  return `ParseAddr(${goQuote(s)}): unexpected character, want colon (at ${tail})`;
}

/** netip.Prefix.Contains(addr): same family, and the first `bits` bits equal. */
export function prefixContains(prefix: GoPrefix, addr: ParsedIp): boolean {
  if (prefix.ip.family !== addr.family) return false;
  for (let i = 0; i < prefix.bits; i++) {
    const bit = (b: Uint8Array) => (b[i >> 3]! >> (7 - (i & 7))) & 1;
    if (bit(prefix.ip.bytes) !== bit(addr.bytes)) return false;
  }
  return true;
}
