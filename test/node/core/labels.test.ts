import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { identityKeyOf } from '../../../src/core/identity-key.js';
import { buildLabelSet, formatLabel, formatLabelList, parseClientLabel, parseLabel, sortedList } from '../../../src/core/labels.js';

describe('parseLabel (Cilium pkg/labels ParseLabel)', () => {
  it.each([
    { input: 'k8s:app=web', want: { source: 'k8s', key: 'app', value: 'web' } },
    { input: 'app=web', want: { source: 'unspec', key: 'app', value: 'web' } },
    { input: 'app', want: { source: 'unspec', key: 'app', value: '' } },
    { input: '$host', want: { source: 'reserved', key: 'host', value: '' } },
    { input: 'k8s:io.kubernetes.pod.namespace=default', want: { source: 'k8s', key: 'io.kubernetes.pod.namespace', value: 'default' } },
    { input: 'k8s:a=b=c', want: { source: 'k8s', key: 'a', value: 'b=c' } },
    { input: 'a=b:c', want: { source: 'a=b', key: 'c', value: '' } },
    { input: ':app=web', want: { source: 'unspec', key: 'app', value: 'web' } },
    { input: 'reserved.host', want: { source: 'reserved', key: 'host', value: '' } },
  ])('$input', ({ input, want }) => {
    expect(parseLabel(input)).toEqual(want);
  });

  it('formats like Label.String(): no "=" for an empty value', () => {
    expect(formatLabel({ source: 'k8s', key: 'app', value: '' })).toBe('k8s:app');
    expect(formatLabel({ source: 'k8s', key: 'app', value: 'web' })).toBe('k8s:app=web');
  });
});

describe('parseClientLabel', () => {
  it.each([
    { input: 'reserved:host', code: 'reserved-label' },
    { input: 'any:app=x', code: 'invalid-label' },
    { input: 'k8s:app=a b', code: 'invalid-label' },
    { input: 'k8s:/app=x', code: 'invalid-label' },
    { input: `k8s:${'a'.repeat(64)}=x`, code: 'invalid-label' },
    { input: 'k8s:Example.COM/app=x', code: 'invalid-label' },
  ])('rejects $input with $code', ({ input, code }) => {
    expect(() => parseClientLabel(input)).toThrow(expect.objectContaining({ code }));
  });

  it('accepts prefixed keys and empty values', () => {
    expect(parseClientLabel('k8s:app.kubernetes.io/name=web')).toEqual({ source: 'k8s', key: 'app.kubernetes.io/name', value: 'web' });
    expect(parseClientLabel('container:flag')).toEqual({ source: 'container', key: 'flag', value: '' });
  });
});

describe('sortedList (the identity key)', () => {
  it('sorts by key and always writes "=" and ";"', () => {
    const set = buildLabelSet(['k8s:b=2', 'k8s:a=1', 'container:flag'].map(parseLabel));
    expect(sortedList(set)).toBe('k8s:a=1;k8s:b=2;container:flag=;');
    expect(formatLabelList(set)).toEqual(['k8s:a=1', 'k8s:b=2', 'container:flag']);
  });

  it('hashes the canonical text with SHA-256', () => {
    const key = identityKeyOf(buildLabelSet([parseLabel('reserved:host')]));
    expect(key.canonical).toBe('reserved:host=;');
    // golden: printf 'reserved:host=;' | sha256sum
    expect(key.sha256).toBe('ccb27cb0f333d0e3b0145da7525570ab597d1488e1fc005e5d5286e5d578db89');
  });

  it('does not depend on label order', () => {
    const label = fc.record({ key: fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), value: fc.stringMatching(/^[a-z0-9]{0,4}$/) });
    fc.assert(
      fc.property(fc.uniqueArray(label, { selector: (l) => l.key, maxLength: 8 }), fc.nat(), (labels, seed) => {
        const ls = labels.map((l) => ({ source: 'k8s', ...l }));
        const shuffled = [...ls].sort((a, b) => ((a.key.charCodeAt(0) * 31 + seed) % 7) - ((b.key.charCodeAt(0) * 31 + seed) % 7));
        expect(identityKeyOf(buildLabelSet(shuffled))).toEqual(identityKeyOf(buildLabelSet(ls)));
      }),
    );
  });

  it('rejects one key with two sources or values, folds exact repeats', () => {
    expect(() => buildLabelSet(['k8s:app=a', 'container:app=a'].map(parseLabel))).toThrow(expect.objectContaining({ code: 'duplicate-label-key' }));
    expect(buildLabelSet(['k8s:app=a', 'k8s:app=a'].map(parseLabel)).size).toBe(1);
  });
});
