// --metrics-address HOST:PORT, read as Go's net.SplitHostPort reads it (Cilium's flags do).
import { describe, expect, it } from 'vitest';
import { parseHostPort } from '../../../src/shim/agent/metrics.js';

describe('parseHostPort', () => {
  it.each([
    { input: '127.0.0.1:9970', want: { host: '127.0.0.1', port: 9970 } },
    { input: '127.0.0.1:0', want: { host: '127.0.0.1', port: 0 } },
    { input: ':9970', want: { host: '', port: 9970 } },
    { input: '[::1]:9970', want: { host: '::1', port: 9970 } },
    { input: 'localhost:1', want: { host: 'localhost', port: 1 } },
  ])('$input', ({ input, want }) => {
    expect(parseHostPort(input)).toEqual(want);
  });

  it.each(['9970', '127.0.0.1', '127.0.0.1:65536', '::1:9970', '127.0.0.1:x', '[::1]', ''])('rejects %j naming the flag', (input) => {
    expect(() => parseHostPort(input)).toThrow(/^--metrics-address: .* is not HOST:PORT/);
  });
});
