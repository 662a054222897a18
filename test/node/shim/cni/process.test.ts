// The bundled plugin (dist/idplane-cni.cjs, `npm run build`) run as the runtime runs it: CNI_*
// environment, configuration on stdin, result or error on stdout and the exit code; against a
// fake local agent on a unix socket (node:http) and fake `ip`/`nsenter` on PATH that print what
// iproute2 prints for a veth pair. test/e2e/cni.test.ts runs it against the real agent and real
// network namespaces.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runPlugin, type PluginRun } from '../../../e2e/cni-chain.js';

const PLUGIN = resolve(import.meta.dirname, '../../../../dist/idplane-cni.cjs');
const dir = mkdtempSync(join(tmpdir(), 'idplane-cni-'));
const socket = join(dir, 'agent.sock');
const netns = join(dir, 'netns-p1');

/** The fake agent: endpoints by path, every request seen, and an answer to force. */
interface FakeAgent {
  endpoints: Map<string, { body: string; endpoint: Record<string, unknown> }>;
  requests: { method: string; url: string; body: unknown }[];
  force: { status: number; body: unknown } | 'hang' | undefined;
}
const agent: FakeAgent = { endpoints: new Map(), requests: [], force: undefined };
let server: Server;

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function handle(req: IncomingMessage, res: ServerResponse, text: string): void {
  const body = text === '' ? undefined : JSON.parse(text);
  agent.requests.push({ method: req.method!, url: req.url!, body });
  if (agent.force === 'hang') return;
  if (agent.force) return reply(res, agent.force.status, agent.force.body);
  const have = agent.endpoints.get(req.url!);
  const notFound = { error: { code: 'endpoint-not-found', message: `endpoint ${req.url} not found` } };
  if (req.method === 'PUT') {
    // As the local API: an identical retry answers 200 with the same endpoint.
    if (have) return have.body === text ? reply(res, 200, have.endpoint) : reply(res, 409, { error: { code: 'endpoint-ref-taken', message: 'taken' } });
    const endpoint = { id: agent.endpoints.size + 1, state: 'ready', ...body };
    agent.endpoints.set(req.url!, { body: text, endpoint });
    return reply(res, 201, endpoint);
  }
  if (!have) return reply(res, 404, notFound);
  if (req.method === 'DELETE') agent.endpoints.delete(req.url!);
  // A GET answers with the agent's read-back of its maps, as the local API does.
  return reply(res, 200, req.method === 'GET' ? { ...have.endpoint, datapath: { 'in-sync': true, problems: [] } } : have.endpoint);
}

// iproute2's answers for the pod's veth pair; the fake nsenter tells the fake ip which side it is.
const INSIDE = [{ ifindex: 2, link_index: 6, ifname: 'eth0', address: '56:36:6e:d8:f1:fc', link_netnsid: 0 }];
const HOST = [{ ifindex: 1, ifname: 'lo', address: '00:00:00:00:00:00' }, { ifindex: 6, link_index: 2, ifname: 'vethdfc4a3d9', address: 'fa:a8:a8:71:95:cf' }];

beforeAll(async () => {
  writeFileSync(join(dir, 'nsenter'), '#!/bin/sh\nns="${1#--net=}"; shift\nFAKE_NETNS="$ns" exec "$@"\n');
  writeFileSync(join(dir, 'ip'), `#!/bin/sh\nif [ -n "$FAKE_NETNS" ]; then cat "$FAKE_NETNS"; else cat ${join(dir, 'host-links.json')}; fi\n`);
  chmodSync(join(dir, 'nsenter'), 0o755);
  chmodSync(join(dir, 'ip'), 0o755);
  writeFileSync(join(dir, 'host-links.json'), JSON.stringify(HOST));
  writeFileSync(netns, JSON.stringify(INSIDE));
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => handle(req, res, text));
  });
  await new Promise<void>((r) => server.listen(socket, r));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  agent.endpoints.clear();
  agent.requests = [];
  agent.force = undefined;
});

function runIdplaneCni(env: Record<string, string | undefined>, stdin: string): Promise<PluginRun> {
  return runPlugin(PLUGIN, { PATH: `${dir}:${process.env.PATH}`, ...env }, stdin);
}

const PREV_100 = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'cni0', mac: '9a:ed:22:2e:6e:cf' }, { name: 'vethdfc4a3d9', mac: 'fa:a8:a8:71:95:cf' }, { name: 'eth0', mac: '56:36:6e:d8:f1:fc', sandbox: netns }],
  ips: [{ interface: 2, address: '10.250.0.2/24', gateway: '10.250.0.1' }],
  dns: {},
};
const PREV_040 = { ...PREV_100, cniVersion: '0.4.0', ips: [{ version: '4', interface: 2, address: '10.250.0.2/24', gateway: '10.250.0.1' }] };

/** A configuration as libcni hands it to the third plugin of the chain; prevResult null: none. */
const conf = (extra: Record<string, unknown> = {}, prevResult: Record<string, unknown> | null = PREV_100) =>
  JSON.stringify({
    cniVersion: prevResult?.cniVersion ?? '1.0.0', name: 'idplane', type: 'idplane-cni', 'agent-socket': socket,
    args: { cni: { labels: [{ key: 'app', value: 'nettool-1' }] } }, ...(prevResult === null ? {} : { prevResult }), ...extra,
  });
const env = (command: string, extra: Record<string, string | undefined> = {}) => ({
  CNI_COMMAND: command, CNI_CONTAINERID: 'c0ffee', CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=nettool-1;K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=1', ...extra,
});
const PATH_OF_POD = '/v1/endpoint/cni-attachment-id:c0ffee:eth0';
const errorOf = (run: PluginRun) => ({ exit: run.code, ...(JSON.parse(run.stdout) as { cniVersion: string; code: number; msg: string }) });

describe('idplane-cni as a process', () => {
  it('VERSION answers 0.4.0 and 1.0.0; run by hand it says what it is', async () => {
    const v = await runIdplaneCni({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    expect([v.code, JSON.parse(v.stdout)]).toEqual([0, { cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] }]);
    const bare = await runIdplaneCni({}, '');
    expect([bare.code, bare.stdout]).toEqual([0, '']);
    expect(bare.stderr).toMatch(/CNI protocol versions supported: 0\.4\.0, 1\.0\.0/);
  });

  it.each([
    { name: '1.0.0', prev: PREV_100 },
    { name: '0.4.0', prev: PREV_040 },
  ])('ADD ($name) creates the endpoint with sync-build-endpoint and prints prevResult unchanged', async ({ prev }) => {
    const run = await runIdplaneCni(env('ADD'), conf({}, prev));
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(JSON.parse(run.stdout)).toEqual(prev);
    expect(agent.requests).toEqual([{
      method: 'PUT', url: PATH_OF_POD,
      body: {
        addressing: { ipv4: '10.250.0.2' }, labels: ['k8s:app=nettool-1'], 'k8s-namespace': 'default', 'k8s-pod-name': 'nettool-1',
        'container-id': 'c0ffee', 'container-interface-name': 'eth0', 'interface-name': 'vethdfc4a3d9', 'interface-index': 6,
        mac: '56:36:6e:d8:f1:fc', 'host-mac': 'fa:a8:a8:71:95:cf', 'sync-build-endpoint': true,
      },
    }]);
  });

  it('ADD retried for the same container sends the same request, gets 200, and prints the same result', async () => {
    const first = await runIdplaneCni(env('ADD'), conf({ 'wait-for-nodes': true }));
    const again = await runIdplaneCni(env('ADD'), conf({ 'wait-for-nodes': true }));
    expect([first.code, again.code, again.stdout]).toEqual([0, 0, first.stdout]);
    expect(agent.requests.map((r) => r.body)).toEqual([agent.requests[0]!.body, agent.requests[0]!.body]);
    expect((agent.requests[0]!.body as Record<string, unknown>)['wait-for-nodes']).toBe(true);
    expect(agent.endpoints.size).toBe(1);
  });

  it('ADD with "datapath": "reference" asks the agent to attach the reference datapath', async () => {
    const add = await runIdplaneCni(env('ADD'), conf({ datapath: 'reference' }));
    expect(add.code).toBe(0);
    expect(agent.requests.map((r) => [r.method, r.url])).toEqual([['PUT', '/v1/endpoint/cni-attachment-id:c0ffee:eth0?datapath=reference']]);
  });

  it('DEL deletes the endpoint, and again finds nothing to delete: success both times', async () => {
    await runIdplaneCni(env('ADD'), conf());
    const del = await runIdplaneCni(env('DEL', { CNI_NETNS: undefined }), conf());
    const again = await runIdplaneCni(env('DEL'), conf());
    expect([del.code, del.stdout, again.code, again.stdout]).toEqual([0, '', 0, '']);
    expect(agent.requests.slice(1).map((r) => `${r.method} ${r.url}`)).toEqual([`DELETE ${PATH_OF_POD}`, `DELETE ${PATH_OF_POD}`]);
    expect(agent.endpoints.size).toBe(0);
  });

  it('CHECK passes for the endpoint ADD made and fails (101) once it is gone', async () => {
    await runIdplaneCni(env('ADD'), conf());
    const ok = await runIdplaneCni(env('CHECK'), conf());
    expect([ok.code, ok.stdout]).toEqual([0, '']);
    agent.endpoints.clear();
    expect(errorOf(await runIdplaneCni(env('CHECK'), conf()))).toEqual({ exit: 1, cniVersion: '1.0.0', code: 101, msg: 'the idplane agent has no endpoint for c0ffee:eth0' });
  });

  it.each([
    { name: 'an endpoint the agent finds wrong', status: 500, code: 101 },
    { name: 'a control plane away (no verdict: try again)', status: 503, code: 11 },
  ])('CHECK answered with $name fails with code $code', async ({ status, code }) => {
    agent.force = { status, body: { error: { code: 'x', message: 'y' } } };
    expect(errorOf(await runIdplaneCni(env('CHECK'), conf()))).toEqual({ exit: 1, cniVersion: '1.0.0', code, msg: 'get endpoint: x: y' });
  });

  it.each([
    { command: 'ADD', name: 'no agent socket', setup: () => ({ 'agent-socket': join(dir, 'absent.sock') }), msg: /^idplane agent at .*absent\.sock unreachable: ENOENT$/ },
    { command: 'DEL', name: 'no agent socket', setup: () => ({ 'agent-socket': join(dir, 'absent.sock') }), msg: /unreachable: ENOENT$/ },
    { command: 'CHECK', name: 'no agent socket', setup: () => ({ 'agent-socket': join(dir, 'absent.sock') }), msg: /unreachable: ENOENT$/ },
    {
      command: 'ADD', name: 'the control plane unreachable behind the agent',
      setup: () => ((agent.force = { status: 503, body: { error: { code: 'control-plane-unavailable', message: 'fetch failed' } } }), {}),
      msg: 'create endpoint: control-plane-unavailable: fetch failed',
    },
    {
      command: 'DEL', name: 'the control plane unreachable behind the agent',
      setup: () => ((agent.force = { status: 503, body: { error: { code: 'control-plane-unavailable', message: 'fetch failed' } } }), {}),
      msg: 'delete endpoint: control-plane-unavailable: fetch failed',
    },
  ])('$command with $name fails with code 11 (try again later)', async ({ command, setup, msg }) => {
    const run = await runIdplaneCni(env(command), conf(setup()));
    const err = errorOf(run);
    expect([err.exit, err.code]).toEqual([1, 11]);
    expect(err.msg).toMatch(msg);
  });

  it('gives up on an agent that does not answer at the timeout, with code 11', async () => {
    agent.force = 'hang';
    const run = await runIdplaneCni(env('ADD'), conf({ 'timeout-seconds': 0.5 }));
    expect(errorOf(run)).toMatchObject({ exit: 1, code: 11, msg: expect.stringMatching(/no answer to PUT .* within the timeout/) });
    expect(run.ms).toBeGreaterThanOrEqual(500);
    expect(run.ms).toBeLessThan(5000);
  });

  it.each([
    { name: 'no prevResult', stdin: () => conf({}, null), code: 7 },
    { name: 'a bad label', stdin: () => conf({ args: { cni: { labels: [{ key: 'app', value: 'a b' }] } } }), code: 7 },
    { name: 'a misspelt key', stdin: () => conf({ 'agent-sockets': '/x' }), code: 2 },
    { name: 'a configuration that is not JSON', stdin: () => '{"cniVersion": "1.0.0",', code: 6 },
    { name: 'cniVersion 0.3.1', stdin: () => conf({ cniVersion: '0.3.1' }), code: 1 },
  ])('ADD with $name fails with code $code and asks the agent nothing', async ({ stdin, code }) => {
    const err = errorOf(await runIdplaneCni(env('ADD'), stdin()));
    expect([err.exit, err.code]).toEqual([1, code]);
    expect(agent.requests).toEqual([]);
  });

  it.each([
    { name: 'no CNI_ARGS', env: { CNI_ARGS: undefined }, msg: 'CNI_ARGS: K8S_POD_NAMESPACE and K8S_POD_NAME missing: idplane-cni attaches Kubernetes pods' },
    { name: 'CNI_ARGS without the pod name', env: { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default' }, msg: 'CNI_ARGS: K8S_POD_NAME missing: idplane-cni attaches Kubernetes pods' },
    { name: 'no CNI_NETNS', env: { CNI_NETNS: undefined }, msg: 'required environment variables missing: CNI_NETNS' },
    { name: 'a CNI_NETNS that does not exist', env: { CNI_NETNS: join(dir, 'gone') }, msg: expect.stringMatching(/^CNI_NETNS: cannot open .*gone: ENOENT/) },
    { name: 'no CNI_CONTAINERID', env: { CNI_CONTAINERID: undefined }, msg: 'required environment variables missing: CNI_CONTAINERID' },
  ])('ADD with $name fails with code 4', async ({ env: extra, msg }) => {
    expect(errorOf(await runIdplaneCni(env('ADD', extra), conf()))).toEqual({ exit: 1, cniVersion: '1.0.0', code: 4, msg });
    expect(agent.requests).toEqual([]);
  });

  it("answers an error in the configuration's cniVersion", async () => {
    const run = await runIdplaneCni(env('ADD', { CNI_ARGS: undefined }), conf({}, PREV_040));
    expect(errorOf(run)).toMatchObject({ cniVersion: '0.4.0', code: 4 });
  });
});
