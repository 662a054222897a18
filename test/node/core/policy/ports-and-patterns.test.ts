// Ports and the Go parsers behind them, plus the linear rewrites of the CRD's backtracking patterns.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RULE_SCHEMA, type SchemaNode } from '../../../../src/core/policy/crd-schema.js';
import { isGoCidr, parseUint16Base0 } from '../../../../src/core/policy/go-parse.js';
import { sanitizePolicy } from '../../../../src/core/policy/sanitize.js';
import { CNP_TARGET, ports } from './policy-fixtures.js';

function portOutcome(port: string): { code: string } | { port: number } {
  try {
    const out = sanitizePolicy(ports({ port, protocol: 'TCP' }), CNP_TARGET);
    return { port: out.policy.rules[0]!.ingress![0]!.toPorts![0]!.ports![0]!.port };
  } catch (e) {
    return { code: (e as { code: string }).code };
  }
}

function node(path: string[]): SchemaNode {
  let n: SchemaNode = RULE_SCHEMA;
  for (const step of path) n = step === '[]' ? n.items! : n.properties![step]!;
  return n;
}

describe('ports', () => {
  it('any decimal port 0..65535 round-trips to its number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), (p) => {
        expect(portOutcome(String(p))).toEqual({ port: p });
      }),
    );
  });

  it('any port with leading zeros is invalid-policy, whatever Cilium would read', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 1, max: 3 }), (p, zeros) => {
        expect(portOutcome('0'.repeat(zeros) + String(p))).toEqual({ code: 'invalid-policy' });
      }),
    );
  });

  it('any number above 65535 is invalid-policy', () => {
    fc.assert(
      fc.property(fc.integer({ min: 65536, max: 10 ** 9 }), (p) => {
        expect(portOutcome(String(p))).toEqual({ code: 'invalid-policy' });
      }),
    );
  });

  it('any IANA service name is a named port: unsupported', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,6})?$/);
    fc.assert(
      fc.property(name, (n) => {
        expect(portOutcome(n)).toEqual({ code: 'unsupported-policy-field' });
      }),
    );
  });
});

describe('strconv.ParseUint(s, 0, 16)', () => {
  it.each([
    { s: '80', want: { ok: true, value: 80 } },
    { s: '0', want: { ok: true, value: 0 } },
    { s: '010', want: { ok: true, value: 8 } },
    { s: '0o17', want: { ok: true, value: 15 } },
    { s: '0b101', want: { ok: true, value: 5 } },
    { s: '0x_50', want: { ok: true, value: 80 } },
    { s: '1_000', want: { ok: true, value: 1000 } },
    { s: '1__0', want: { ok: false, message: 'strconv.ParseUint: parsing "1__0": invalid syntax' } },
    { s: '_10', want: { ok: false, message: 'strconv.ParseUint: parsing "_10": invalid syntax' } },
    { s: '0x', want: { ok: false, message: 'strconv.ParseUint: parsing "0x": invalid syntax' } },
    { s: '080', want: { ok: false, message: 'strconv.ParseUint: parsing "080": invalid syntax' } },
    { s: '65536', want: { ok: false, message: 'strconv.ParseUint: parsing "65536": value out of range' } },
    { s: '0x10000', want: { ok: false, message: 'strconv.ParseUint: parsing "0x10000": value out of range' } },
    { s: '-1', want: { ok: false, message: 'strconv.ParseUint: parsing "-1": invalid syntax' } },
  ])('$s', ({ s, want }) => {
    expect(parseUint16Base0(s)).toEqual(want);
  });
});

describe('net.ParseCIDR (the CRD format: cidr)', () => {
  it.each([
    ['10.0.0.0/8', true],
    ['10.1.2.3/8', true],
    ['0.0.0.0/0', true],
    ['10.0.0.0/08', true],
    ['fd00::/8', true],
    ['::ffff:10.0.0.0/104', true],
    ['10.0.0.1', false],
    ['10.0.0.0/', false],
    ['10.0.0.0/33', false],
    ['010.0.0.0/8', false],
    ['fe80::1%eth0/64', false],
    ['10.0.0.0/8/8', false],
  ] as const)('%s → %s', (s, ok) => {
    expect(isGoCidr(s)).toBe(ok);
  });
});

describe('CRD patterns rewritten without backtracking accept the same strings', () => {
  const alphabet = fc.constantFrom('a', 'Z', '0', '9', '-', '.', '*', '_', '!', ' ');
  const short = fc.array(alphabet, { maxLength: 10 }).map((cs) => cs.join(''));

  it.each([
    ['port', ['ingress', '[]', 'toPorts', '[]', 'ports', '[]', 'port']],
    ['toFQDNs matchName', ['egress', '[]', 'toFQDNs', '[]', 'matchName']],
    ['toFQDNs matchPattern', ['egress', '[]', 'toFQDNs', '[]', 'matchPattern']],
    ['serverNames', ['egress', '[]', 'toPorts', '[]', 'serverNames', '[]']],
  ])('%s', (_, path) => {
    const pattern = node(path).pattern!;
    const original = new RegExp(pattern.source);
    fc.assert(fc.property(short, (s) => pattern.test(s) === original.test(s)));
  });

  it('decides a 1 MiB port string at once', () => {
    const pattern = node(['ingress', '[]', 'toPorts', '[]', 'ports', '[]', 'port']).pattern!;
    const started = performance.now();
    expect(pattern.test(`${'a'.repeat(1 << 20)}!`)).toBe(false);
    expect(pattern.test(`!${'a1-'.repeat(1 << 18)}b`)).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
