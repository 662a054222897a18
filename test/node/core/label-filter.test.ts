import { describe, expect, it } from 'vitest';
import { compileLabelFilter, DEFAULT_LABEL_FILTER, checkLabelFilter } from '../../../src/core/label-filter.js';
import { buildLabelSet, formatLabelList, parseLabel } from '../../../src/core/labels.js';

const filterDefault = compileLabelFilter(DEFAULT_LABEL_FILTER);
const identityRelevant = (filter: ReturnType<typeof compileLabelFilter>, label: string) =>
  formatLabelList(filter(buildLabelSet([parseLabel(label)])).identity).length === 1;

describe('default label filter (Cilium v1.18 defaultLabelPrefixCfg)', () => {
  it.each([
    { label: 'k8s:io.kubernetes.pod.namespace=default', want: true },
    { label: 'k8s:io.kubernetes.pod.name=web-0', want: false },
    { label: 'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=default', want: true },
    { label: 'k8s:io.cilium.k8s.policy.cluster=default', want: true },
    { label: 'k8s:io.cilium.k8s.policy.serviceaccount=default', want: true },
    { label: 'k8s:app.kubernetes.io/name=web', want: true },
    { label: 'k8s:statefulset.kubernetes.io/pod-name=web-0', want: false },
    { label: 'k8s:apps.kubernetes.io/pod-index=0', want: false },
    { label: 'k8s:batch.kubernetes.io/job-completion-index=1', want: false },
    { label: 'k8s:batch.kubernetes.io/controller-uid=x', want: false },
    { label: 'k8s:failure-domain.beta.kubernetes.io/zone=a', want: false },
    { label: 'k8s:kubernetes.io/hostname=n1', want: false },
    { label: 'k8s:k8s.io/foo=x', want: false },
    { label: 'k8s:pod-template-generation=1', want: false },
    { label: 'k8s:pod-template-hash=abc', want: false },
    { label: 'k8s:controller-revision-hash=abc', want: false },
    { label: 'k8s:controller-uid=abc', want: false },
    { label: 'k8s:annotation.foo=x', want: false },
    { label: 'k8s:etcd_node=x', want: false },
    // Matches count only at index 0 of the key: v1.18 keeps topology.kubernetes.io/*.
    { label: 'k8s:topology.kubernetes.io/zone=a', want: true },
    { label: 'k8s:app=web', want: true },
    { label: 'k8s:k8s-app=kube-dns', want: true },
    { label: 'reserved:host', want: true },
  ])('$label → identity-relevant: $want', ({ label, want }) => {
    expect(identityRelevant(filterDefault, label)).toBe(want);
  });

  it('splits a set into identity and information labels', () => {
    const out = filterDefault(buildLabelSet(['k8s:app=web', 'k8s:pod-template-hash=x', 'k8s:io.kubernetes.pod.namespace=ns'].map(parseLabel)));
    expect(formatLabelList(out.identity)).toEqual(['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=ns']);
    expect(formatLabelList(out.information)).toEqual(['k8s:pod-template-hash=x']);
  });
});

describe('user patterns', () => {
  it('turns on whitelist mode with a user include: only included labels count', () => {
    const f = compileLabelFilter([...DEFAULT_LABEL_FILTER, 'k8s:app']);
    expect(identityRelevant(f, 'k8s:app=web')).toBe(true);
    expect(identityRelevant(f, 'k8s:tier=front')).toBe(false);
    expect(identityRelevant(f, 'container:app=web')).toBe(false);
    expect(identityRelevant(f, 'k8s:io.kubernetes.pod.namespace=ns')).toBe(true);
  });

  it('lets a longer include beat a shorter exclude, and source-scoped excludes apply to that source', () => {
    const f = compileLabelFilter([...DEFAULT_LABEL_FILTER, 'k8s:!version', '!io\\.kubernetes']);
    expect(identityRelevant(f, 'k8s:version=v1')).toBe(false);
    expect(identityRelevant(f, 'container:version=v1')).toBe(true);
    expect(identityRelevant(f, 'k8s:io.kubernetes.pod.namespace=ns')).toBe(true);
  });

  it.each([
    { pattern: 'k8s:app(', why: 'missing closing )' },
    { pattern: '', why: 'empty expression' },
    { pattern: 'k8s:', why: 'empty expression' },
    { pattern: '!', why: 'empty expression' },
    { pattern: 'k8s:!', why: 'empty expression' },
    { pattern: '(?!x)', why: 'unsupported Perl syntax' },
    { pattern: '(?<=a)b', why: 'invalid named capture' },
    { pattern: '(a)\\1', why: 'invalid escape sequence' },
    { pattern: 'a{1001}', why: 'invalid repeat count' },
  ])('rejects $pattern ($why), naming it', ({ pattern, why }) => {
    expect(() => checkLabelFilter(['app', pattern])).toThrow(
      expect.objectContaining({ code: 'invalid-label-filter', message: expect.stringMatching(new RegExp(`^label-filter\\[1\\] ${escape(JSON.stringify(pattern))}: .*${escape(why)}`)) }),
    );
  });
});

describe('RE2 semantics (Go regexp, as Cilium compiles its patterns)', () => {
  it.each([
    // (?i) and other RE2 flags, as users copy them from Cilium's docs.
    { patterns: ['(?i)APP'], label: 'k8s:app=web', want: true },
    { patterns: ['(?i)APP'], label: 'k8s:tier=web', want: false },
    // Leftmost-first, as Go's FindStringIndex: `a|ab` matches "a" (1), not "ab" (2), so it does
    // not beat the 1-long exclude; written `ab|a` it matches 2 and does.
    { patterns: ['a|ab', '!a'], label: 'k8s:abc=x', want: false },
    { patterns: ['ab|a', '!a'], label: 'k8s:abc=x', want: true },
    // A match that does not start at index 0 of the key does not count.
    { patterns: ['web'], label: 'k8s:app-web=x', want: false },
    // The source is the text before the first ':', as in Cilium, so a POSIX class needs one.
    { patterns: ['k8s:[[:alpha:]]+'], label: 'k8s:tier=x', want: true },
    { patterns: ['[[:alpha:]]+'], label: 'k8s:tier=x', want: false },
  ])('$patterns on $label → $want', ({ patterns, label, want }) => {
    expect(identityRelevant(compileLabelFilter(patterns), label)).toBe(want);
  });

  it('matches a nested-quantifier pattern on a long key in linear time', () => {
    // No key has a b, c or d: a backtracking engine tries 2^n ways for n a's before failing.
    const filter = compileLabelFilter([...DEFAULT_LABEL_FILTER, '!(a+)+b', '!(a|aa)+c', '!(.*)*d']);
    const started = performance.now();
    for (let i = 0; i < 50; i++) {
      const key = `${'a'.repeat(200 + i)}.example/${'a'.repeat(62)}`;
      expect(identityRelevant(filter, `k8s:${key}=x`)).toBe(true);
    }
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
