import { describe, expect, it } from 'vitest';
import { MAX_ENDPOINT_LABEL_BYTES, withNamespaceLabels } from '../../../src/core/endpoint-labels.js';
import { formatAttachmentId } from '../../../src/core/endpoint-ref.js';
import { normaliseCreate, type EndpointCreateRequest } from '../../../src/core/endpoint-request.js';
import { formatLabelList } from '../../../src/core/labels.js';

describe('normaliseCreate', () => {
  it('normalises a create: attachment from the reference, canonical addresses, managed labels added', () => {
    const n = normaliseCreate('cni-attachment-id:abc:eth0', { labels: ['app=web'], 'k8s-namespace': 'shop', addressing: { ipv6: 'FD00::1' }, mac: 'AA:BB:CC:DD:EE:FF' }, 'c1');
    expect(n).toMatchObject({ containerId: 'abc', containerIfname: 'eth0', attachmentId: 'abc:eth0', mac: 'aa:bb:cc:dd:ee:ff', ipv4: null });
    expect(n.ipv6?.text).toBe('fd00::1');
    expect(formatLabelList(n.labels)).toEqual(['unspec:app=web', 'k8s:io.cilium.k8s.policy.cluster=c1', 'k8s:io.kubernetes.pod.namespace=shop']);
  });

  it('gives one request spelled two ways one fingerprint, and a different request another', () => {
    const a = normaliseCreate('cni-attachment-id:abc', { labels: ['k8s:b=2', 'k8s:a=1'], addressing: { ipv6: 'fd00:0::1' } }, 'c1');
    const b = normaliseCreate('cni-attachment-id:abc', { labels: ['k8s:a=1', 'k8s:b=2', 'k8s:a=1'], addressing: { ipv6: 'FD00::1' } }, 'c1');
    const other = normaliseCreate('cni-attachment-id:abc', { labels: ['k8s:a=1'], addressing: { ipv6: 'fd00::1' } }, 'c1');
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(other.fingerprint).not.toBe(a.fingerprint);
  });

  it.each<{ name: string; ref?: string; req: EndpointCreateRequest; code: string }>([
    { name: 'container-id contradicting the reference', ref: 'cni-attachment-id:abc', req: { 'container-id': 'xyz' }, code: 'invalid-request' },
    { name: 'an interface without a container', req: { 'container-interface-name': 'eth0' }, code: 'invalid-request' },
    { name: 'a bad MAC', req: { mac: 'aa:bb' }, code: 'invalid-request' },
    { name: 'a loopback pod address', req: { addressing: { ipv4: '127.0.0.1' } }, code: 'invalid-ip' },
    { name: 'an IPv4-mapped pod address', req: { addressing: { ipv6: '::ffff:10.0.0.1' } }, code: 'invalid-ip' },
    { name: 'the pod-namespace label', req: { labels: ['k8s:io.kubernetes.pod.namespace=x'] }, code: 'managed-label' },
    { name: 'a namespace label', req: { labels: ['container:io.cilium.k8s.namespace.labels.a=b'] }, code: 'managed-label' },
    { name: 'labels over the size limit', req: { labels: Array.from({ length: 600 }, (_, i) => `k8s:key-${i}=${'v'.repeat(60)}`) }, code: 'labels-too-large' },
  ])('refuses $name with $code', ({ ref, req, code }) => {
    expect(() => normaliseCreate(ref ?? '1', req, 'c1')).toThrow(expect.objectContaining({ code }));
  });

  it('counts the limit on the stored label list: at it is accepted, one byte over is not', () => {
    // The stored list's length does not depend on its order: measure it unsorted.
    const stored = (labels: string[]) => JSON.stringify([...labels, 'k8s:io.cilium.k8s.policy.cluster=c']).length;
    const label = (i: number, valueLength: number) => `k8s:k${String(i).padStart(3, '0')}=${'v'.repeat(valueLength)}`;
    const labels: string[] = [];
    while (stored([...labels, label(labels.length, 30)]) <= MAX_ENDPOINT_LABEL_BYTES - 14) labels.push(label(labels.length, 30));
    // One more label of the right length fills the list to the limit exactly.
    const fill = MAX_ENDPOINT_LABEL_BYTES - stored([...labels, label(labels.length, 0)]);
    expect(fill).toBeGreaterThan(0);
    expect(fill).toBeLessThan(63);
    const atLimit = [...labels, label(labels.length, fill)];
    expect(stored(atLimit)).toBe(MAX_ENDPOINT_LABEL_BYTES);
    expect(() => normaliseCreate('1', { labels: atLimit }, 'c')).not.toThrow();
    expect(() => normaliseCreate('1', { labels: [...labels, label(labels.length, fill + 1)] }, 'c')).toThrow(expect.objectContaining({ code: 'labels-too-large' }));
  });
});

describe('namespace labels and attachment IDs', () => {
  it('replaces an endpoint set\'s namespace labels with the namespace\'s current ones', () => {
    const n = normaliseCreate('1', { labels: ['k8s:app=web'], 'k8s-namespace': 'shop' }, 'c1');
    const first = withNamespaceLabels(n.labels, { team: 'web', 'kubernetes.io/metadata.name': 'shop' });
    expect(formatLabelList(first).filter((l) => l.includes('namespace.labels'))).toEqual([
      'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=shop',
      'k8s:io.cilium.k8s.namespace.labels.team=web',
    ]);
    expect(formatLabelList(withNamespaceLabels(first, { team: 'pay' })).filter((l) => l.includes('namespace.labels'))).toEqual(['k8s:io.cilium.k8s.namespace.labels.team=pay']);
    expect(formatLabelList(withNamespaceLabels(first, null))).toEqual(formatLabelList(n.labels));
  });

  it('formats cni-attachment-id as <container-id>[:<ifname>]', () => {
    expect(formatAttachmentId('abc', 'eth0')).toBe('abc:eth0');
    expect(formatAttachmentId('abc', null)).toBe('abc');
    expect(formatAttachmentId('abc', undefined)).toBe('abc');
  });
});
