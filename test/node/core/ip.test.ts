import { describe, expect, it } from 'vitest';
import { hostPrefix, parseIp } from '../../../src/core/ip.js';

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
