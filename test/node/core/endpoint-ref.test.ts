import { describe, expect, it } from 'vitest';
import { parseEndpointRef } from '../../../src/core/endpoint-ref.js';
import { clusterIdentityRange } from '../../../src/core/identity.js';

describe('parseEndpointRef (Cilium pkg/endpoint/id)', () => {
  it.each([
    { ref: '42', create: false, want: { kind: 'id', id: 42 } },
    { ref: 'cilium-local:4095', create: false, want: { kind: 'id', id: 4095 } },
    { ref: 'cilium-local:0', create: true, want: { kind: 'id', id: 0 } },
    { ref: 'cni-attachment-id:abc', create: true, want: { kind: 'cni-attachment', containerId: 'abc', ifname: undefined } },
    { ref: 'cni-attachment-id:abc:eth0', create: false, want: { kind: 'cni-attachment', containerId: 'abc', ifname: 'eth0' } },
    { ref: 'container-id:abc', create: false, want: { kind: 'container-id', containerId: 'abc' } },
    { ref: 'pod-name:default:web-0', create: false, want: { kind: 'pod-name', namespace: 'default', pod: 'web-0' } },
    { ref: 'pod-name:default/web-0', create: false, want: { kind: 'pod-name', namespace: 'default', pod: 'web-0' } },
  ])('$ref', ({ ref, create, want }) => {
    expect(parseEndpointRef(ref, create)).toEqual(want);
  });

  it.each([
    ['0', false],
    ['4096', true],
    ['-1', true],
    ['0x10', false],
    ['cilium-global:1', false],
    ['container-id:abc', true],
    ['pod-name:default', false],
    ['cni-attachment-id:', true],
    ['cni-attachment-id:abc:eth0/1', true],
  ])('rejects %j (create: %s)', (ref, create) => {
    expect(() => parseEndpointRef(ref, create)).toThrow(expect.objectContaining({ code: 'invalid-endpoint-ref' }));
  });
});

describe('identity ranges (Cilium numericidentity.go)', () => {
  it('allocates 256..65535 for cluster 0 and the whole c<<16 block otherwise', () => {
    expect(clusterIdentityRange(0)).toEqual({ min: 256, max: 65535 });
    expect(clusterIdentityRange(5)).toEqual({ min: 5 << 16, max: (6 << 16) - 1 });
  });
});
