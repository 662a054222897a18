// The seed scenario: coredns pods share an identity, nettools with different app labels do not.
import { describe, expect, it } from 'vitest';
import { call, clusterWithNodes } from './helpers.js';

describe('seed: identities of kube-system and default pods', () => {
  it('gives two coredns pods one identity and different endpoint ids', async () => {
    const c = await clusterWithNodes(['node-1']);
    const coredns = (hash: string, ip: string) => ({
      labels: ['k8s:k8s-app=kube-dns', `k8s:pod-template-hash=${hash}`],
      'k8s-namespace': 'kube-system',
      'k8s-pod-name': `coredns-${hash}`,
      addressing: { ipv4: ip },
      'sync-build-endpoint': true,
    });
    const a = await c.createEndpoint('node-1', 'cilium-local:0', coredns('5d78c9869d', '10.0.0.11'));
    const b = await c.createEndpoint('node-1', 'cilium-local:0', coredns('7f4b8d9c5f', '10.0.0.12'));
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect([a.body.id, b.body.id]).toEqual([1, 2]);
    expect(a.body.identity.id).toBe(b.body.identity.id);
    expect(a.body.identity.id).toBeGreaterThanOrEqual(256);
    expect(a.body.identity.labels).toEqual([
      `k8s:io.cilium.k8s.policy.cluster=${c.cluster}`,
      'k8s:io.kubernetes.pod.namespace=kube-system',
      'k8s:k8s-app=kube-dns',
    ]);
    expect(a.body.labels.information).toEqual(['k8s:pod-template-hash=5d78c9869d']);
    expect(a.body.state).toBe('ready');
    expect(a.body['policy-revision']).toBeGreaterThan(0);

    const id = await c.identity(a.body.identity.id);
    expect(id.status).toBe(200);
    expect(id.body.references).toBe(2);
    expect(id.body.namespace).toBe('kube-system');
    expect(id.body.labelsSHA256).toBe(a.body.identity.labelsSHA256);
  });

  it('gives nettools with different app labels different identities', async () => {
    const c = await clusterWithNodes(['node-1']);
    const nettool = (n: number) => ({
      labels: [`k8s:app=nettool-${n}`],
      'k8s-namespace': 'default',
      'k8s-pod-name': `nettool-${n}`,
      addressing: { ipv4: `10.0.1.${n}` },
    });
    const a = await c.createEndpoint('node-1', 'cilium-local:0', nettool(1));
    const b = await c.createEndpoint('node-1', 'cilium-local:0', nettool(2));
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.identity.id).not.toBe(b.body.identity.id);
    const ipcache = await call('GET', `${c.base}/ipcache`);
    expect(ipcache.body.entries).toEqual([
      { prefix: '10.0.1.1/32', identity: a.body.identity.id, node: 'node-1', 'host-ip': '192.168.0.1', endpoint: a.body.id },
      { prefix: '10.0.1.2/32', identity: b.body.identity.id, node: 'node-1', 'host-ip': '192.168.0.1', endpoint: b.body.id },
    ]);
  });
});
