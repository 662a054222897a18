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

  it.each([['k8s:app('], [''], ['k8s:'], ['(?!x)'], ['(a)\\1']])('rejects %j', (p) => {
    expect(() => checkLabelFilter([p])).toThrow(expect.objectContaining({ code: 'invalid-label-filter' }));
  });
});
