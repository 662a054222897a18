// A node token cannot hurt other nodes: it may not set the labels the control plane derives,
// grow an endpoint's labels without bound, take an address another form of which is in use or
// that is no pod's, report a revision the cluster has not reached, or lose its lease setting by
// re-registering. Each rejection: status, code, and the stored state unchanged.
import { describe, expect, it } from 'vitest';
import { call, clusterWithNodes, dumpState, type CallOptions } from './helpers.js';

const c = await clusterWithNodes(['n1', 'n2']);
const token = (await call('PUT', `${c.base}/nodes/n1`, { body: { ipv4: '192.168.0.1', 'rotate-token': true } })).body.token as string;
const ep = `${c.base}/nodes/n1/endpoints`;
const seeded = await call('PUT', `${ep}/1`, {
  body: { labels: ['k8s:app=web'], 'k8s-namespace': 'shop', addressing: { ipv4: '10.40.0.1', ipv6: 'fd00:40::1' } },
  token,
});
if (seeded.status !== 201) throw new Error(JSON.stringify(seeded.body));

/** Label keys the control plane derives, each in several source forms. */
const managed = [
  'k8s:io.kubernetes.pod.namespace=kube-system',
  'io.kubernetes.pod.namespace=kube-system',
  'container:io.kubernetes.pod.namespace=kube-system',
  'k8s:io.cilium.k8s.policy.cluster=other',
  'unspec:io.cilium.k8s.policy.cluster=other',
  'k8s:io.cilium.k8s.namespace.labels.team=admin',
  'cni:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=kube-system',
];
/** 120 labels of ~320 bytes: about 38 KiB, under the 64 KiB body limit. */
const bulky = Array.from({ length: 120 }, (_, i) => `k8s:${'p'.repeat(240)}.example/k${i}=${'v'.repeat(63)}`);
const create = (body: Record<string, unknown>): CallOptions => ({ body: { labels: ['k8s:app=x'], ...body }, token });

interface Row {
  name: string;
  method: string;
  path: string;
  opts: CallOptions;
  status: number;
  code: string;
}

const rows: Row[] = [
  ...managed.map((label) => ({ name: `create with ${label}`, method: 'PUT', path: `${ep}/2`, opts: create({ labels: [label] }), status: 400, code: 'managed-label' })),
  ...managed.map((label) => ({ name: `create in a namespace with ${label}`, method: 'PUT', path: `${ep}/2`, opts: create({ labels: [label], 'k8s-namespace': 'shop' }), status: 400, code: 'managed-label' })),
  ...managed.map((label) => ({ name: `PATCH adding ${label}`, method: 'PATCH', path: `${ep}/1/labels`, opts: { body: { add: [label] }, token }, status: 400, code: 'managed-label' })),
  { name: 'PATCH deleting the namespace label', method: 'PATCH', path: `${ep}/1/labels`, opts: { body: { delete: ['k8s:io.kubernetes.pod.namespace=shop'] }, token }, status: 400, code: 'managed-label' },
  { name: 'create with labels over 32 KiB', method: 'PUT', path: `${ep}/2`, opts: create({ labels: bulky }), status: 400, code: 'labels-too-large' },
  { name: 'PATCH growing labels over 32 KiB', method: 'PATCH', path: `${ep}/1/labels`, opts: { body: { add: bulky }, token }, status: 400, code: 'labels-too-large' },
  { name: 'IPv4-mapped IPv6 of a taken IPv4', method: 'PUT', path: `${ep}/2`, opts: create({ addressing: { ipv6: '::ffff:10.40.0.1' } }), status: 400, code: 'invalid-ip' },
  { name: 'IPv4-mapped IPv6 of a free IPv4', method: 'PUT', path: `${ep}/2`, opts: create({ addressing: { ipv6: '::ffff:10.40.0.2' } }), status: 400, code: 'invalid-ip' },
  { name: 'IPv4-mapped IPv6 in hex', method: 'PUT', path: `${ep}/2`, opts: create({ addressing: { ipv6: '::ffff:a28:2' } }), status: 400, code: 'invalid-ip' },
  { name: 'unspecified IPv4', method: 'PUT', path: `${ep}/2`, opts: create({ addressing: { ipv4: '0.0.0.0' } }), status: 400, code: 'invalid-ip' },
  { name: 'unspecified IPv6', method: 'PUT', path: `${ep}/2`, opts: create({ addressing: { ipv6: '::' } }), status: 400, code: 'invalid-ip' },
  { name: 'loopback IPv4', method: 'PUT', path: `${ep}/2`, opts: create({ addressing: { ipv4: '127.0.0.53' } }), status: 400, code: 'invalid-ip' },
  { name: 'loopback IPv6', method: 'PUT', path: `${ep}/2`, opts: create({ addressing: { ipv6: '::1' } }), status: 400, code: 'invalid-ip' },
  { name: 'multicast IPv4', method: 'PUT', path: `${ep}/2`, opts: create({ addressing: { ipv4: '224.0.0.251' } }), status: 400, code: 'invalid-ip' },
  { name: 'multicast IPv6', method: 'PUT', path: `${ep}/2`, opts: create({ addressing: { ipv6: 'ff02::1' } }), status: 400, code: 'invalid-ip' },
  { name: 'broadcast IPv4', method: 'PUT', path: `${ep}/2`, opts: create({ addressing: { ipv4: '255.255.255.255' } }), status: 400, code: 'invalid-ip' },
  { name: "this node's address", method: 'PUT', path: `${ep}/2`, opts: create({ addressing: { ipv4: '192.168.0.1' } }), status: 409, code: 'ip-in-use' },
  { name: "another node's address", method: 'PUT', path: `${ep}/2`, opts: create({ addressing: { ipv4: '192.168.0.2' } }), status: 409, code: 'ip-in-use' },
  { name: "a node registered with a pod's address", method: 'PUT', path: `${c.base}/nodes/n3`, opts: { body: { ipv4: '10.40.0.1' } }, status: 409, code: 'ip-in-use' },
  { name: "a node registered with a pod's IPv6", method: 'PUT', path: `${c.base}/nodes/n3`, opts: { body: { ipv6: 'fd00:40::1' } }, status: 409, code: 'ip-in-use' },
  { name: 'a node with an IPv4-mapped IPv6', method: 'PUT', path: `${c.base}/nodes/n3`, opts: { body: { ipv6: '::ffff:192.168.0.9' } }, status: 400, code: 'invalid-ip' },
  { name: 'heartbeat beyond the cluster revision', method: 'POST', path: `${c.base}/nodes/n1/heartbeat`, opts: { body: { 'applied-revision': 1_000_000 }, token }, status: 400, code: 'invalid-revision' },
];

describe('what a node token may not do', () => {
  it.each(rows)('$name → $status $code, state unchanged', async ({ method, path, opts, status, code }) => {
    const before = await dumpState(c.cluster);
    const res = await call(method, path, opts);
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
    expect(res.body.error.message).toMatch(/\S/);
    expect(await dumpState(c.cluster)).toEqual(before);
  });

  it('names the limit when labels are too large', async () => {
    const res = await call('PUT', `${ep}/2`, create({ labels: bulky }));
    expect(res.body.error.message).toMatch(/over the limit of 32768 bytes \(32 KiB\)/);
  });

  it('still takes the labels a node does set, the addresses a pod may have, and a heartbeat at the current revision', async () => {
    const ok = await call('PUT', `${ep}/3`, create({ labels: ['k8s:io.cilium.k8s.policy.serviceaccount=web', 'k8s:app=x'], addressing: { ipv4: '10.40.0.3', ipv6: 'fd00:40::3' } }));
    expect(ok.status).toBe(201);
    expect(ok.body.labels.identity).toContain('k8s:io.cilium.k8s.policy.cluster=' + c.cluster);
    const revision = (await call('GET', `${c.base}/feed?since=0`, { token })).body.revision;
    const beat = await call('POST', `${c.base}/nodes/n1/heartbeat`, { body: { 'applied-revision': revision }, token });
    expect([beat.status, beat.body['applied-revision']]).toEqual([200, revision]);
  });
});

describe('node re-registration', () => {
  it.each([
    { name: 'a lease-less node stays lease-less', first: {}, again: {}, want: 0 },
    { name: 'a leased node keeps its lease', first: { 'lease-seconds': 600 }, again: {}, want: 600 },
    { name: 'an explicit lease replaces it', first: { 'lease-seconds': 600 }, again: { 'lease-seconds': 60 }, want: 60 },
    { name: 'an explicit 0 removes it', first: { 'lease-seconds': 600 }, again: { 'lease-seconds': 0 }, want: 0 },
  ])('$name', async ({ first, again, want }) => {
    const name = `re-${Math.random().toString(36).slice(2, 8)}`;
    expect((await call('PUT', `${c.base}/nodes/${name}`, { body: first })).status).toBe(201);
    const res = await call('PUT', `${c.base}/nodes/${name}`, { body: again });
    expect(res.status).toBe(200);
    expect(res.body['lease-seconds']).toBe(want);
    expect(res.body['lease-expires-at'] === null).toBe(want === 0);
    expect((await call('GET', `${c.base}/nodes/${name}`)).body['lease-seconds']).toBe(want);
  });
});
