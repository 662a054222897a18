// The local endpoint API against a stand-in control plane: a change answers only once the
// agent's maps hold the revision the control plane answered with, 504 when they do not in time,
// 503 when the control plane is not there, and the control plane's errors pass through.
import { mkdtempSync, statSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/datapath/backends/memory.js';
import { ReferenceDatapath } from '../../../src/datapath/reference-datapath.js';
import { ApiClient } from '../../../src/shim/api-client.js';
import { AppliedRevision } from '../../../src/shim/agent/applied-revision.js';
import { LocalApi } from '../../../src/shim/agent/local-api.js';
import { PodLookupError, type PodLabelSource } from '../../../src/shim/agent/pod-labels.js';

const dir = mkdtempSync(join(tmpdir(), 'idplane-local-api-'));
const logger = pino({ level: 'silent' });

/** The stand-in control plane: answers each request from `answer`, recording what it got. */
const seen: { method: string; url: string; body: string }[] = [];
let answer: (method: string, url: string) => [number, unknown] = () => [500, {}];
let controlPlane: Server;
let url: string;

beforeAll(async () => {
  controlPlane = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body });
      const [status, json] = answer(req.method!, req.url!);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    });
  });
  await new Promise<void>((r) => controlPlane.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(controlPlane.address() as AddressInfo).port}`;
});
afterAll(() => controlPlane.close());

async function serve(opts: { url?: string; syncTimeoutMs?: number; podLabels?: PodLabelSource; datapath?: ReferenceDatapath } = {}) {
  const revision = new AppliedRevision();
  revision.set(5);
  const api = new ApiClient({ url: opts.url ?? url, cluster: 'c1', token: 'node-1.secret' });
  const local = new LocalApi({ node: 'node-1', api: () => api, revision, syncTimeoutMs: opts.syncTimeoutMs ?? 5000, podLabels: opts.podLabels, datapath: opts.datapath, logger });
  const socket = join(dir, `agent-${Math.random().toString(36).slice(2)}.sock`);
  await local.listen(socket);
  return { revision, local, socket };
}

function call(socket: string, method: string, path: string, body?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      // Answered once the request is also fully written (a large body may still be flushing).
      const written = new Promise((w) => (req.writableFinished ? w(undefined) : req.once('finish', w)));
      res.on('end', () => void written.then(() => resolve({ status: res.statusCode!, body: JSON.parse(text) })));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const endpoint = (revision: number) => ({ id: 3, node: 'node-1', revision, identity: { id: 300 } });

describe('local endpoint API', () => {
  it('serves on a 0600 socket and answers healthz with the applied revision', async () => {
    const { local, socket } = await serve();
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(await call(socket, 'GET', '/v1/healthz')).toEqual({ status: 200, body: { status: 'ok', node: 'node-1', 'applied-revision': 5 } });
    await local.close();
  });

  it('answers a create only once the maps hold its revision, with the control plane status', async () => {
    const { revision, local, socket } = await serve();
    answer = () => [201, endpoint(9)];
    seen.length = 0;
    let answered = false;
    const pending = call(socket, 'PUT', '/v1/endpoint/cni-attachment-id:abc:eth0', JSON.stringify({ labels: ['k8s:app=x'], 'sync-build-endpoint': true }))
      .then((r) => ((answered = true), r));
    for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([{ method: 'PUT', url: '/v1/clusters/c1/nodes/node-1/endpoints/cni-attachment-id%3Aabc%3Aeth0', body: '{"labels":["k8s:app=x"],"sync-build-endpoint":true}' }]);
    revision.set(8);
    await new Promise((r) => setTimeout(r, 20));
    expect(answered).toBe(false);
    revision.set(9);
    expect(await pending).toEqual({ status: 201, body: endpoint(9) });
    expect(revision.waiting).toBe(0);
    await local.close();
  });

  it('a delete and a label change wait too; GET and the list go straight through', async () => {
    const { revision, local, socket } = await serve();
    answer = (method) => (method === 'GET' ? [200, { endpoints: [endpoint(5)] }] : [200, endpoint(6)]);
    const del = call(socket, 'DELETE', '/v1/endpoint/3');
    const patch = call(socket, 'PATCH', '/v1/endpoint/3/labels', JSON.stringify({ add: ['k8s:b=c'] }));
    expect((await call(socket, 'GET', '/v1/endpoint')).body).toEqual({ endpoints: [endpoint(5)] });
    expect(revision.waiting).toBe(2);
    revision.set(6);
    expect((await del).status).toBe(200);
    expect((await patch).status).toBe(200);
    await local.close();
  });

  it.each([
    ['the maps do not catch up in time', { syncTimeoutMs: 50 }, () => [201, endpoint(99)] as [number, unknown], 504, 'sync-timeout'],
    ['the control plane refuses the create', {}, () => [400, { error: { code: 'invalid-request', message: 'labels: bad' } }] as [number, unknown], 400, 'invalid-request'],
    ['the control plane is down', { url: 'http://127.0.0.1:1' }, () => [200, {}] as [number, unknown], 503, 'control-plane-unavailable'],
  ])('%s', async (_name, opts, reply, status, code) => {
    const { local, socket } = await serve(opts);
    answer = reply;
    const r = await call(socket, 'PUT', '/v1/endpoint/cilium-local:0', '{}');
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    await local.close();
  });

  it.each([
    ['malformed JSON', 'PUT', '/v1/endpoint/cilium-local:0', '{', 400, 'invalid-request'],
    ['a JSON array', 'PUT', '/v1/endpoint/cilium-local:0', '[]', 400, 'invalid-request'],
    ['a body over 1 MiB', 'PUT', '/v1/endpoint/cilium-local:0', `{"x":"${'a'.repeat(1024 * 1024)}"}`, 413, 'body-too-large'],
    ['an unknown route', 'GET', '/v1/config', undefined, 404, 'not-found'],
    ['a wrong method', 'POST', '/v1/endpoint/3', '{}', 404, 'not-found'],
    ['a datapath other than reference', 'PUT', '/v1/endpoint/cilium-local:0?datapath=cilium', '{"interface-name":"veth1"}', 400, 'invalid-request'],
    ['the reference datapath without the bpf backend', 'PUT', '/v1/endpoint/cilium-local:0?datapath=reference', '{"interface-name":"veth1"}', 400, 'datapath-unavailable'],
  ])('%s is refused locally', async (_name, method, path, body, status, code) => {
    const { local, socket } = await serve();
    seen.length = 0;
    const r = await call(socket, method, path, body);
    expect([r.status, r.body.error.code]).toEqual([status, code]);
    expect(seen).toEqual([]);
    await local.close();
  });

  it("refuses the reference datapath for a create that names no host interface, before the control plane hears of it", async () => {
    const datapath = new ReferenceDatapath({ object: '/nonexistent/reference.o', pinDir: dir, loadDir: dir, backend: new MemoryBackend() });
    const { local, socket } = await serve({ datapath });
    seen.length = 0;
    const r = await call(socket, 'PUT', '/v1/endpoint/cilium-local:0?datapath=reference', JSON.stringify({ labels: ['k8s:app=x'] }));
    expect([r.status, r.body.error.code]).toEqual([400, 'invalid-request']);
    expect(r.body.error.message).toMatch(/interface-name/);
    expect(seen).toEqual([]);
    await local.close();
  });

  it("with a kubeconfig, a create carries its pod's labels from the Kubernetes API; a missing pod is refused", async () => {
    const podLabels: PodLabelSource = async (namespace, pod) => {
      if (pod === 'ghost') throw new PodLookupError(404, 'pod-not-found', `pod ${namespace}/${pod} not found in the Kubernetes API`);
      return { app: `${namespace}-${pod}` };
    };
    const { revision, local, socket } = await serve({ podLabels });
    answer = () => [201, endpoint(6)];
    seen.length = 0;
    const create = { labels: ['k8s:app=from-cni', 'k8s:tier=fe'], 'k8s-namespace': 'shop', 'k8s-pod-name': 'web-1' };
    const pending = call(socket, 'PUT', '/v1/endpoint/cilium-local:0', JSON.stringify(create));
    revision.set(6);
    expect((await pending).status).toBe(201);
    expect(JSON.parse(seen[0]!.body).labels).toEqual(['k8s:tier=fe', 'k8s:app=shop-web-1']);
    seen.length = 0;
    const ghost = await call(socket, 'PUT', '/v1/endpoint/cilium-local:0', JSON.stringify({ ...create, 'k8s-pod-name': 'ghost' }));
    expect([ghost.status, ghost.body.error.code]).toEqual([404, 'pod-not-found']);
    expect(seen).toEqual([]);
    await local.close();
  });

  it('refuses a socket another process serves, and replaces a stale one', async () => {
    const { local, socket } = await serve();
    const other = new LocalApi({ node: 'node-1', api: () => new ApiClient({ url, cluster: 'c1', token: 't' }), revision: new AppliedRevision(), syncTimeoutMs: 10, logger });
    await expect(other.listen(socket)).rejects.toThrow(/another process serves this socket/);
    await local.close();
    // A socket file nobody serves (an agent that died): taken over.
    const stale = createServer();
    await new Promise<void>((r) => stale.listen(socket, r));
    stale.close();
    await other.listen(socket);
    expect((await call(socket, 'GET', '/v1/healthz')).status).toBe(200);
    await other.close();
  });
});
