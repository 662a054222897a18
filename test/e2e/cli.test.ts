// End to end through real workerd: the seed scenario created over HTTP, read back with the
// `idplane` CLI; and state persisted across a wrangler restart.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { putCluster } from './support.js';
import { freePort, startWranglerDev, type WranglerDev } from './wrangler-dev.js';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../dist/idplane.js');
let dev: WranglerDev;

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${dev.url}/v1/clusters/seed${path}`, {
    method,
    headers: { authorization: `Bearer ${dev.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function idplane(...args: string[]) {
  return run(process.execPath, [BIN, ...args], {
    env: { ...process.env, IDPLANE_URL: dev.url, IDPLANE_TOKEN: dev.token, IDPLANE_CLUSTER: 'seed' },
  });
}

beforeAll(async () => {
  dev = await startWranglerDev();
  await putCluster(dev, 'seed');
}, 90000);
afterAll(async () => {
  await dev?.stop();
});

describe('seed scenario through wrangler dev and the CLI', () => {
  it('shows two coredns pods sharing one identity and two nettools with two', async () => {
    expect((await api('PUT', '/nodes/node-1', { ipv4: '192.168.1.1' })).status).toBe(201);
    const pods = [
      { name: 'coredns-5d78c9869d-abcde', ns: 'kube-system', labels: ['k8s:k8s-app=kube-dns', 'k8s:pod-template-hash=5d78c9869d'], ip: '10.0.0.11' },
      { name: 'coredns-5d78c9869d-fghij', ns: 'kube-system', labels: ['k8s:k8s-app=kube-dns', 'k8s:pod-template-hash=7f4b8d9c5f'], ip: '10.0.0.12' },
      { name: 'nettool-1', ns: 'default', labels: ['k8s:app=nettool-1'], ip: '10.0.0.21' },
      { name: 'nettool-2', ns: 'default', labels: ['k8s:app=nettool-2'], ip: '10.0.0.22' },
    ];
    const created = [];
    for (const p of pods) {
      const r = await api('PUT', '/nodes/node-1/endpoints/cilium-local:0', {
        labels: p.labels, 'k8s-namespace': p.ns, 'k8s-pod-name': p.name, addressing: { ipv4: p.ip }, 'sync-build-endpoint': true,
      });
      expect(r.status).toBe(201);
      created.push(r.body);
    }
    const [dns1, dns2, net1, net2] = created;
    expect(dns1.identity.id).toBe(dns2.identity.id);
    expect(net1.identity.id).not.toBe(net2.identity.id);

    const kubeSystem = await idplane('get', 'endpoints', '-n', 'kube-system');
    const lines = kubeSystem.stdout.trimEnd().split('\n');
    expect(lines[0]!.split(/\s{3,}/)).toEqual(['NAME', 'ENDPOINT ID', 'IDENTITY ID', 'INGRESS ENFORCEMENT', 'EGRESS ENFORCEMENT', 'VISIBILITY POLICY', 'ENDPOINT STATE', 'IPV4', 'IPV6']);
    expect(lines.slice(1).map((l) => l.split(/\s+/))).toEqual([
      ['coredns-5d78c9869d-abcde', '1', String(dns1.identity.id), 'false', 'false', '<none>', 'ready', '10.0.0.11', '<none>'],
      ['coredns-5d78c9869d-fghij', '2', String(dns1.identity.id), 'false', 'false', '<none>', 'ready', '10.0.0.12', '<none>'],
    ]);

    const all = await idplane('get', 'endpoints', '-A');
    expect(all.stdout.split('\n')[0]!.startsWith('NAMESPACE')).toBe(true);
    expect(all.stdout.trimEnd().split('\n')).toHaveLength(5);

    const ids = await idplane('get', 'identities');
    const idRows = ids.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/));
    expect(idRows[0]).toEqual(['NAME', 'NAMESPACE', 'AGE']);
    expect(idRows.slice(1).map((r) => [r[0], r[1]])).toEqual([
      [String(dns1.identity.id), 'kube-system'],
      [String(net1.identity.id), 'default'],
      [String(net2.identity.id), 'default'],
    ]);

    const json = JSON.parse((await idplane('get', 'endpoints', '-n', 'default', '-o', 'json')).stdout);
    expect(json.items.map((e: { 'k8s-pod-name': string }) => e['k8s-pod-name'])).toEqual(['nettool-1', 'nettool-2']);
  });

  it('shows nodes with lease, applied revision and lag', async () => {
    await api('PUT', '/nodes/node-2', { ipv4: '192.168.1.2', 'lease-seconds': 600 });
    await api('POST', '/nodes/node-2/heartbeat', { 'applied-revision': 3 });
    const revision = (await api('GET', '/nodes')).body.revision as number;
    const out = await idplane('get', 'nodes');
    const rows = out.stdout.trimEnd().split('\n').map((l) => l.split(/\s{3,}/));
    expect(rows[0]).toEqual(['NAME', 'IPV4', 'ENDPOINTS', 'LEASE', 'LAST HEARTBEAT', 'APPLIED REVISION', 'LAG']);
    expect(rows[1]).toEqual(['node-1', '192.168.1.1', '4', '<none>', '<none>', '0', String(revision)]);
    expect(rows[2]![0]).toBe('node-2');
    expect(rows[2]![3]).toMatch(/^600s \(expires in (9m\d+s|10m)\)$/);
    expect(rows[2]!.slice(5)).toEqual(['3', String(revision - 3)]);
  });

  it('lists clusters with their cluster IDs, and refuses an unknown one', async () => {
    await putCluster(dev, 'meshed', 7);
    const rows = (await idplane('get', 'clusters')).stdout.trimEnd().split('\n').map((l) => l.split(/\s{3,}/));
    expect(rows.map((r) => r.slice(0, 2))).toEqual([['NAME', 'CLUSTER ID'], ['meshed', '7'], ['seed', '0']]);
    expect(rows[0]![2]).toBe('AGE');
    const json = JSON.parse((await idplane('get', 'clusters', '-o', 'json')).stdout);
    expect(json.items.map((c: { name: string; 'cluster-id': number }) => [c.name, c['cluster-id']])).toEqual([['meshed', 7], ['seed', 0]]);
    const unknown = await idplane('--cluster', 'no-such', 'get', 'identities').catch((e) => e);
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringContaining('cluster-not-found')]);
  });

  it('keeps everything across a wrangler restart', async () => {
    const before = await api('GET', '/ipcache');
    await dev.stop({ keepState: true });
    dev = await startWranglerDev({ persistDir: dev.persistDir, token: dev.token });
    const after = await api('GET', '/ipcache');
    expect(after.body).toEqual(before.body);
    expect(after.body.entries).toHaveLength(4);
  });
});

describe('the CLI as kubectl users expect it (on the seed scenario)', () => {
  it.each(['endpoints', 'ciliumendpoints', 'ciliumendpoint', 'cep'])('get %s -A lists by namespace, then name', async (name) => {
    const out = await idplane('get', name, '-A');
    const rows = out.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/));
    expect(rows.slice(1).map((r) => `${r[0]}/${r[1]}`)).toEqual([
      'default/nettool-1', 'default/nettool-2', 'kube-system/coredns-5d78c9869d-abcde', 'kube-system/coredns-5d78c9869d-fghij',
    ]);
  });

  it.each(['ciliumidentities', 'ciliumidentity', 'ciliumid'])('get %s is get identities', async (name) => {
    const [long, short] = await Promise.all([idplane('get', name, '-o', 'json'), idplane('get', 'identities', '-o', 'json')]);
    expect(JSON.parse(long.stdout).items).toHaveLength(3);
    expect(long.stdout).toBe(short.stdout);
  });

  it.each([
    { args: ['get', 'cep', '-n', 'kube-system', '-o', 'yaml'], items: (v: any) => v.items.map((e: any) => e['k8s-pod-name']), want: ['coredns-5d78c9869d-abcde', 'coredns-5d78c9869d-fghij'] },
    { args: ['get', 'ciliumid', '-o', 'yaml'], items: (v: any) => v.items.map((i: any) => i.namespace), want: ['kube-system', 'default', 'default'] },
    { args: ['get', 'nodes', '-o', 'yaml'], items: (v: any) => v.nodes.map((n: any) => n.name), want: ['node-1', 'node-2'] },
    { args: ['get', 'clusters', '-o', 'yaml'], items: (v: any) => v.items.map((c: any) => [c.name, c['cluster-id']]), want: [['meshed', 7], ['seed', 0]] },
    { args: ['get', 'cep', '-n', 'empty', '-o', 'yaml'], items: (v: any) => v.items, want: [] },
  ])('$args.1 -o yaml is the same object as -o json', async ({ args, items, want }) => {
    const yamlOut = parse((await idplane(...args)).stdout);
    const jsonOut = JSON.parse((await idplane(...args.slice(0, -1), 'json')).stdout);
    expect(yamlOut).toEqual(jsonOut);
    expect(items(yamlOut)).toEqual(want);
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    expect((await idplane('--version')).stdout.trim()).toBe(version);
  });

  it.each([
    { name: 'a bad token', args: () => ['--token', 'wrong', 'get', 'identities'], says: /^Error from server \(unauthorized\): / },
    { name: 'an unknown cluster', args: () => ['--cluster', 'no-such-cluster', 'get', 'cep', '-A'], says: /^Error from server \(cluster-not-found\): / },
    { name: 'no control plane there', args: async () => ['--url', `http://127.0.0.1:${await freePort()}`, 'get', 'endpoints'], says: /^error: cannot reach the control plane: / },
  ])('prints the error to stderr, nothing to stdout, and exits 1: $name', async ({ args, says }) => {
    const res = await idplane(...(await args())).catch((e) => e);
    expect([res.code, res.stdout]).toEqual([1, '']);
    expect(res.stderr).toMatch(says);
  });
});
