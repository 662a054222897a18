// Userspace policy keys: the LPM length P of the BPF key and the coverage the deny rules rely on.
import { describe, expect, it } from 'vitest';
import { covers, lpmPrefixLength, portProtoKey } from '../../../../src/core/policy/map-key.js';

describe('policy map keys', () => {
  it.each([
    { protocol: 0, port: 0, bits: 0, p: 0 },
    { protocol: 6, port: 0, bits: 0, p: 8 },
    { protocol: 6, port: 80, bits: 16, p: 24 },
    { protocol: 6, port: 64, bits: 10, p: 18 },
    // Cilium's 0-63 block keeps port 0, so the BPF key is protocol-only (NewKeyFromPolicyKey).
    { protocol: 6, port: 0, bits: 10, p: 8 },
    // A non-zero port without bits is an exact port (WithPortPrefix).
    { protocol: 17, port: 53, bits: 0, p: 24 },
  ])('P of proto $protocol port $port/$bits is $p', ({ protocol, port, bits, p }) => {
    expect(lpmPrefixLength(portProtoKey(0, protocol, port, bits))).toBe(p);
  });

  const k = (direction: 0 | 1, protocol: number, port: number, bits: number) => portProtoKey(direction, protocol, port, bits);
  it.each([
    { name: 'any protocol covers a port', a: k(0, 0, 0, 0), b: k(0, 6, 80, 16), want: true },
    { name: 'not across directions', a: k(1, 0, 0, 0), b: k(0, 6, 80, 16), want: false },
    { name: 'a protocol covers its ports', a: k(0, 6, 0, 0), b: k(0, 6, 80, 16), want: true },
    { name: 'not another protocol', a: k(0, 17, 0, 0), b: k(0, 6, 80, 16), want: false },
    { name: 'a port block covers a port inside it', a: k(0, 6, 64, 10), b: k(0, 6, 80, 16), want: true },
    { name: 'a port does not cover its block', a: k(0, 6, 80, 16), b: k(0, 6, 64, 10), want: false },
    { name: 'a port does not cover any-protocol', a: k(0, 6, 80, 16), b: k(0, 0, 0, 0), want: false },
    { name: 'equal keys cover each other', a: k(0, 6, 80, 16), b: k(0, 6, 80, 16), want: true },
  ])('$name', ({ a, b, want }) => {
    expect(covers(a, b)).toBe(want);
  });
});
