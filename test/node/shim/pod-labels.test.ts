// Pod labels from the Kubernetes API (`--kubeconfig`), against a small local server that answers
// the pod GET as kube-apiserver does (no real apiserver installs here), and their merge into a
// create's labels.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubernetesPodLabels, mergePodLabels, PodLookupError } from '../../../src/shim/agent/pod-labels.js';

const dir = mkdtempSync(join(tmpdir(), 'idplane-kube-'));
const TOKEN = 'kube-token-123';
const pods: Record<string, Record<string, string>> = {
  'kube-system/coredns-5d78c9869d-62zlb': { 'k8s-app': 'kube-dns', 'pod-template-hash': '5d78c9869d' },
  'default/bare': {},
};
const requests: { url: string; auth: string | undefined }[] = [];
let apiserver: Server;

function kubeconfig(server: string): string {
  const path = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ${server}
    # client-node refuses plain http unless told to skip TLS verification (the test server has no TLS)
    insecure-skip-tls-verify: true
users:
- name: agent
  user:
    token: ${TOKEN}
contexts:
- name: test
  context: {cluster: test, user: agent}
current-context: test
`);
  return path;
}

beforeAll(async () => {
  apiserver = createServer((req, res) => {
    requests.push({ url: req.url!, auth: req.headers.authorization });
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/?]+)/.exec(req.url!);
    const labels = m ? pods[`${m[1]}/${m[2]}`] : undefined;
    if (!m || labels === undefined) {
      const name = m?.[2] ?? '';
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({
        kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `pods "${name}" not found`, reason: 'NotFound', details: { name, kind: 'pods' }, code: 404,
      }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
      kind: 'Pod', apiVersion: 'v1', metadata: { name: m[2], namespace: m[1], uid: 'u-1', ...(Object.keys(labels).length > 0 ? { labels } : {}) }, spec: { containers: [] },
    }));
  });
  await new Promise<void>((r) => apiserver.listen(0, '127.0.0.1', r));
});
afterAll(() => apiserver.close());

const url = () => `http://127.0.0.1:${(apiserver.address() as AddressInfo).port}`;

describe('pod labels from the Kubernetes API', () => {
  it("reads the pod with the kubeconfig's credentials", async () => {
    const lookup = await kubernetesPodLabels(kubeconfig(url()));
    requests.length = 0;
    expect(await lookup('kube-system', 'coredns-5d78c9869d-62zlb')).toEqual({ 'k8s-app': 'kube-dns', 'pod-template-hash': '5d78c9869d' });
    expect(requests).toEqual([{ url: '/api/v1/namespaces/kube-system/pods/coredns-5d78c9869d-62zlb', auth: `Bearer ${TOKEN}` }]);
    expect(await lookup('default', 'bare')).toEqual({});
  });

  it('a missing pod is 404 pod-not-found; an API server that is not there is 503 kubernetes-unavailable', async () => {
    const lookup = await kubernetesPodLabels(kubeconfig(url()));
    await expect(lookup('default', 'ghost')).rejects.toMatchObject({ status: 404, code: 'pod-not-found' });
    const down = await kubernetesPodLabels(kubeconfig('http://127.0.0.1:1'));
    const err = await down('default', 'bare').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PodLookupError);
    expect(err).toMatchObject({ status: 503, code: 'kubernetes-unavailable' });
  });

  it.each<{ name: string; create: string[]; pod: Record<string, string>; want: string[] }>([
    { name: 'pod labels added as k8s: labels', create: [], pod: { app: 'web' }, want: ['k8s:app=web'] },
    { name: "the pod's value wins over the create's, any source", create: ['k8s:app=old', 'app=older', 'k8s:tier=fe'], pod: { app: 'web' }, want: ['k8s:tier=fe', 'k8s:app=web'] },
    { name: "the create's other labels stay", create: ['container:io.x=1'], pod: { 'app.kubernetes.io/name': 'shop' }, want: ['container:io.x=1', 'k8s:app.kubernetes.io/name=shop'] },
    { name: 'an inherited property name is no pod label', create: ['k8s:constructor=a'], pod: {}, want: ['k8s:constructor=a'] },
  ])('$name', ({ create, pod, want }) => {
    expect(mergePodLabels(create, pod)).toEqual(want);
  });
});
