// Byte layout of Cilium v1.18's policy map entries (struct policy_key / policy_entry,
// bpf/lib/common.h) against the golden vectors of POLICY.md §1.2.
import { describe, expect, it } from 'vitest';
import {
  decodePolicyKey, decodePolicyValue, encodePolicyKey, encodePolicyValue, POLICY_ENTRY, POLICY_FULL_PREFIX_BITS, POLICY_KEY,
  POLICY_PROTO_BITS, POLICY_PROTO_PORT_BITS, POLICY_STATIC_PREFIX_BITS, type PolicyKey,
} from '../../../src/datapath/layout/policy.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

describe('struct policy_key / policy_entry', () => {
  it('has Cilium sizes and prefix constants', () => {
    expect([POLICY_KEY.size, POLICY_ENTRY.size, POLICY_FULL_PREFIX_BITS, POLICY_STATIC_PREFIX_BITS, POLICY_PROTO_PORT_BITS, POLICY_PROTO_BITS]).toEqual([
      12, 8, 64, 40, 24, 8,
    ]);
  });

  const allow = (prefixLength: number) => ({ deny: false, prefixLength, proxyPort: 0, authType: 0, proxyPortPriority: 0 });
  const deny = (prefixLength: number) => ({ ...allow(prefixLength), deny: true });
  it.each<{ name: string; key: PolicyKey; value: ReturnType<typeof allow>; k: string; v: string }>([
    { name: 'ingress allow-all', key: { identity: 0, direction: 0, protocol: 0, port: 0, prefixLength: 0 }, value: allow(0), k: '280000000000000000000000', v: '0000000000000000' },
    { name: 'ingress allow from host', key: { identity: 1, direction: 0, protocol: 0, port: 0, prefixLength: 0 }, value: allow(0), k: '280000000100000000000000', v: '0000000000000000' },
    { name: 'egress allow-all', key: { identity: 0, direction: 1, protocol: 0, port: 0, prefixLength: 0 }, value: allow(0), k: '280000000000000001000000', v: '0000000000000000' },
    { name: 'ingress allow 1234 TCP/80', key: { identity: 1234, direction: 0, protocol: 6, port: 80, prefixLength: 24 }, value: allow(24), k: '40000000d204000000060050', v: '0000c00000000000' },
    { name: 'ingress deny 1234 any', key: { identity: 1234, direction: 0, protocol: 0, port: 0, prefixLength: 0 }, value: deny(0), k: '28000000d204000000000000', v: '0000010000000000' },
    { name: 'egress allow TCP all ports', key: { identity: 0, direction: 1, protocol: 6, port: 0, prefixLength: 8 }, value: allow(8), k: '300000000000000001060000', v: '0000400000000000' },
    { name: 'egress deny world UDP/53', key: { identity: 2, direction: 1, protocol: 17, port: 53, prefixLength: 24 }, value: deny(24), k: '400000000200000001110035', v: '0000c10000000000' },
    { name: 'egress allow TCP 8080/14', key: { identity: 0, direction: 1, protocol: 6, port: 8080, prefixLength: 22 }, value: allow(22), k: '3e0000000000000001061f90', v: '0000b00000000000' },
    { name: 'egress allow 1006 TCP 64/10', key: { identity: 1006, direction: 1, protocol: 6, port: 64, prefixLength: 18 }, value: allow(18), k: '3a000000ee03000001060040', v: '0000900000000000' },
    { name: 'ingress allow CIDR id SCTP/5000', key: { identity: 16777217, direction: 0, protocol: 132, port: 5000, prefixLength: 24 }, value: allow(24), k: '400000000100000100841388', v: '0000c00000000000' },
  ])('$name', ({ key, value, k, v }) => {
    expect(hex(encodePolicyKey(key))).toBe(k);
    expect(hex(encodePolicyValue(value))).toBe(v);
    expect(decodePolicyKey(bytes(k))).toEqual(key);
    expect(decodePolicyValue(bytes(v))).toEqual(value);
  });

  it('writes a deny with its flags only', () => {
    expect(hex(encodePolicyValue({ deny: true, prefixLength: 24, proxyPort: 15001, authType: 1, proxyPortPriority: 1 }))).toBe('0000c10000000000');
  });
});
