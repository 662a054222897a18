import { describe, expect, it } from 'vitest';
import { hostPrefix, parseIp, parseIpField, parsePodIpField, parsePrefix, parsePrefixInto, podAddressProblem, prefixFamilyOf, tunnelIpOf } from '../../../src/core/ip.js';

describe('parseIp', () => {
  it.each([
    { input: '10.0.0.1', want: '10.0.0.1' },
    { input: '0.0.0.0', want: '0.0.0.0' },
    { input: 'FD00:0:0::1', want: 'fd00::1' },
    { input: '2001:db8:0:0:1:0:0:1', want: '2001:db8::1:0:0:1' },
    { input: '::', want: '::' },
    { input: '1::', want: '1::' },
    { input: '::ffff:10.1.2.3', want: '::ffff:10.1.2.3' },
    { input: '64:ff9b::192.0.2.33', want: '64:ff9b::c000:221' },
    { input: '1:2:3:4:5:6:7:8', want: '1:2:3:4:5:6:7:8' },
  ])('$input → $want', ({ input, want }) => {
    expect(parseIp(input)?.text).toBe(want);
  });

  it.each(['10.0.0.01', '10.0.0', '10.0.0.1.2', '256.0.0.1', '10.0.0.1/32', ' 10.0.0.1', '1:2:3:4:5:6:7:8:9', '1::2::3', 'fe80::1%eth0', '::ffff:1.2.3.04', '12345::', ':1', '1:', ''])(
    'rejects %j',
    (input) => {
      expect(parseIp(input)).toBeUndefined();
    },
  );

  it('checks the family when asked and builds host prefixes', () => {
    expect(parseIp('fd00::1', 4)).toBeUndefined();
    expect(parseIp('10.0.0.1', 6)).toBeUndefined();
    expect(hostPrefix(parseIp('10.0.0.1')!)).toBe('10.0.0.1/32');
    expect(hostPrefix(parseIp('fd00::1')!)).toBe('fd00::1/128');
    expect([...parseIp('fd00::1')!.bytes]).toEqual([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });
});

describe('parsePrefix', () => {
  it.each([
    { input: '10.0.0.1/32', ip: '10.0.0.1', bits: 32 },
    { input: '10.0.0.0/8', ip: '10.0.0.0', bits: 8 },
    { input: '0.0.0.0/0', ip: '0.0.0.0', bits: 0 },
    { input: 'fd00::1/128', ip: 'fd00::1', bits: 128 },
    { input: 'FD00::/16', ip: 'fd00::', bits: 16 },
  ])('$input → $ip / $bits', ({ input, ip, bits }) => {
    const p = parsePrefix(input);
    expect({ ip: p?.ip.text, bits: p?.bits }).toEqual({ ip, bits });
  });

  const rejected = ['10.0.0.1', '10.0.0.1/', '10.0.0.1/33', '10.0.0.1/032', '10.0.0.0/08', '10.0.0.1/3a', '10.0.0.1/-1', '10.0.0.1/+8', '10.0.0.1/ 8', '10.0.0.1/8',
    'fd00::1/129', 'fd00::/1000', 'fd00::1/64', '10.0.0.01/32', '/32', '10.0.0.1/32/32', '10.0.0/24', '10.0.0.256/32', '10.0.0.1.2/32', '::ffff:10.0.0.1/120', '10.0.0.1/3:'];
  it.each(rejected)('rejects %j', (input) => {
    expect(parsePrefix(input)).toBeUndefined();
  });

  it.each([...rejected, '10.0.0.1/32', '10.255.0.0/16', '0.0.0.0/0', 'fd00::1/128', 'FD00::/16', '::ffff:10.0.0.1/128'])('parsePrefixInto agrees with parsePrefix on %j, writing the address where asked', (input) => {
    const out = new Uint8Array(20).fill(0xee);
    const into = parsePrefixInto(input, prefixFamilyOf(input), out, 3);
    const p = parsePrefix(input);
    expect(into).toBe(p?.bits ?? -1);
    if (p) expect(prefixFamilyOf(input)).toBe(p.ip.family);
    if (p) expect([...out]).toEqual([0xee, 0xee, 0xee, ...p.ip.bytes, ...new Array(17 - p.ip.bytes.length).fill(0xee)]);
  });
});

describe('address fields', () => {
  it.each([
    { text: '::ffff:10.1.2.3', family: 6, code: 'invalid-ip', why: /IPv4-mapped/ },
    { text: '::ffff:a01:203', family: 6, code: 'invalid-ip', why: /IPv4-mapped/ },
    { text: '10.1.2.3', family: 6, code: 'invalid-ip', why: /not an IPv6 address/ },
  ] as const)('refuses $text in an IPv$family field, naming it', ({ text, family, why }) => {
    expect(() => parseIpField('addressing.x', text, family)).toThrow(expect.objectContaining({ code: 'invalid-ip', message: expect.stringMatching(why) }));
    expect(() => parseIpField('addressing.x', text, family)).toThrow(/^addressing\.x: /);
  });

  it('gives null for an absent field and the canonical form otherwise', () => {
    expect(parseIpField('ipv6', undefined, 6)).toBeNull();
    expect(parseIpField('ipv6', 'FD00::0:1', 6)?.text).toBe('fd00::1');
  });

  it.each([
    { text: '0.0.0.0', want: 'the unspecified address' },
    { text: '127.0.0.1', want: 'a loopback address' },
    { text: '127.255.0.9', want: 'a loopback address' },
    { text: '224.0.0.1', want: 'a multicast address' },
    { text: '239.255.255.250', want: 'a multicast address' },
    { text: '255.255.255.255', want: 'the broadcast address' },
    { text: '::', want: 'the unspecified address' },
    { text: '::1', want: 'the loopback address' },
    { text: 'ff02::1', want: 'a multicast address' },
    { text: '10.0.0.1', want: undefined },
    { text: '240.0.0.1', want: undefined },
    { text: '169.254.1.1', want: undefined },
    { text: 'fd00::1', want: undefined },
    { text: '::2', want: undefined },
  ])('$text as a pod address: $want', ({ text, want }) => {
    expect(podAddressProblem(parseIp(text)!)).toBe(want);
    if (want) expect(() => parsePodIpField('ip', text, text.includes(':') ? 6 : 4)).toThrow(expect.objectContaining({ code: 'invalid-ip' }));
  });

  it('prefers the IPv4 address as a tunnel endpoint', () => {
    expect(tunnelIpOf({ ipv4: '192.168.0.1', ipv6: 'fd00::1' })).toBe('192.168.0.1');
    expect(tunnelIpOf({ ipv4: null, ipv6: 'fd00::1' })).toBe('fd00::1');
    expect(tunnelIpOf({ ipv4: null, ipv6: null })).toBeNull();
  });
});
