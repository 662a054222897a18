// Byte layouts of Cilium v1.18's ipcache and lxc map entries against golden vectors (bytes as
// `bpftool map dump` prints them for maps the agent wrote, checked against bpf/lib/eps.h and
// bpf/lib/common.h).
import { describe, expect, it } from 'vitest';
import {
  decodeIpcacheKey, decodeIpcacheValue, encodeIpcacheKey, encodeIpcacheValue, IPCACHE_KEY, IPCACHE_STATIC_PREFIX_BITS, ipcacheIdentityOf, REMOTE_ENDPOINT_INFO,
} from '../../../src/datapath/layout/ipcache.js';
import { decodeLxcKey, decodeLxcValue, encodeLxcKey, encodeLxcValue, ENDPOINT_INFO, ENDPOINT_KEY } from '../../../src/datapath/layout/lxc.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

describe('struct ipcache_key / remote_endpoint_info', () => {
  it('has Cilium sizes and a 32-bit static prefix', () => {
    expect([IPCACHE_KEY.size, REMOTE_ENDPOINT_INFO.size, IPCACHE_STATIC_PREFIX_BITS]).toEqual([24, 24, 32]);
  });

  it.each([
    { prefix: '10.50.0.1/32', key: '40000000 0000 00 01 0a320001 000000000000000000000000' },
    { prefix: '10.0.0.0/8', key: '28000000 0000 00 01 0a000000 000000000000000000000000' },
    { prefix: 'fd00::1/128', key: 'a0000000 0000 00 02 fd000000000000000000000000000001' },
  ])('key $prefix', ({ prefix, key }) => {
    expect(hex(encodeIpcacheKey(prefix))).toBe(key.replace(/\s+/g, ''));
    expect(decodeIpcacheKey(bytes(key))).toEqual({ prefix, clusterId: 0 });
  });

  it.each([
    { name: 'remote pod, IPv4 tunnel', v: { identity: 256, tunnelEndpoint: '192.168.50.2', encryptKey: 0 }, value: '00010000 c0a83202 000000000000000000000000 0000 00 02' },
    { name: 'remote pod, IPv6 tunnel', v: { identity: 70000, tunnelEndpoint: 'fd00::2', encryptKey: 0 }, value: '70110100 fd000000000000000000000000000002 0000 00 06' },
    { name: 'own pod, no tunnel', v: { identity: 257, tunnelEndpoint: null, encryptKey: 0 }, value: '01010000 00000000000000000000000000000000 0000 00 00' },
    { name: 'the top bit of the identity set', v: { identity: 0x80000001, tunnelEndpoint: null, encryptKey: 0 }, value: '01000080 00000000000000000000000000000000 0000 00 00' },
  ])('value: $name', ({ v, value }) => {
    expect(hex(encodeIpcacheValue(v))).toBe(value.replace(/\s+/g, ''));
    expect(ipcacheIdentityOf(bytes(value))).toBe(v.identity);
    const decoded = decodeIpcacheValue(bytes(value));
    expect({ identity: decoded.identity, tunnelEndpoint: decoded.tunnelEndpoint, encryptKey: decoded.encryptKey }).toEqual(v);
  });
});

describe('struct endpoint_key / endpoint_info (cilium_lxc)', () => {
  it('has Cilium sizes and offsets', () => {
    expect([ENDPOINT_KEY.size, ENDPOINT_INFO.size, ENDPOINT_INFO.mac, ENDPOINT_INFO.secId]).toEqual([20, 48, 16, 32]);
  });

  it('encodes keys for both families', () => {
    expect(hex(encodeLxcKey('10.50.0.2'))).toBe('0a320002000000000000000000000000 01 00 0000'.replace(/\s+/g, ''));
    expect(hex(encodeLxcKey('fd00::5'))).toBe('fd000000000000000000000000000005 02 00 0000'.replace(/\s+/g, ''));
    expect(decodeLxcKey(encodeLxcKey('fd00::5'))).toBe('fd00::5');
  });

  it('encodes a pod entry: ifindex, lxc_id, mac_t, node_mac, sec_id', () => {
    const v = { ifindex: 7, lxcId: 1, flags: 0, mac: '0a:00:00:00:00:01', nodeMac: 'aa:bb:cc:dd:ee:ff', secId: 257, parentIfindex: 0 };
    const golden = '07000000 0000 0100 00000000 00000000 0a00000000010000 aabbccddeeff0000 01010000 00000000 0000000000000000';
    expect(hex(encodeLxcValue(v))).toBe(golden.replace(/\s+/g, ''));
    expect(decodeLxcValue(bytes(golden))).toEqual(v);
  });
});
