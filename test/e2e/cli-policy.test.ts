// End to end through real workerd: the policy commands of the built `idplane` CLI (apply, get,
// delete, bpf policy get, policy trace, policy selectors) against one `wrangler dev`, checked
// against what the API itself answers. The cases share one cluster and run in order.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { clusterApi, putCluster } from './support.js';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.js';

const BIN = resolve(import.meta.dirname, '../../dist/idplane.js');
const CLUSTER = 'cli-policy';
let dev: WranglerDev;
const api = clusterApi(() => dev, CLUSTER);
const dir = mkdtempSync(join(tmpdir(), 'idplane-cli-policy-'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI; resolves with its exit code and output whatever the code. */
function idplane(args: string[], stdin?: string): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(process.execPath, [BIN, ...args], {
      env: { ...process.env, IDPLANE_URL: dev.url, IDPLANE_TOKEN: dev.token, IDPLANE_CLUSTER: CLUSTER },
    }, (err, stdout, stderr) => done({ code: err ? Number(err.code) : 0, stdout, stderr }));
    child.stdin!.end(stdin ?? '');
  });
}

/** A kubectl/cilium-style table as rows of cells, cut at the header's column starts (cells may hold single spaces). */
function parseTable(text: string): { headers: string[]; rows: string[][] } {
  const [header = '', ...lines] = text.trimEnd().split('\n');
  const headers = header.split(/\s{3,}/);
  let from = 0;
  const starts = headers.map((h) => {
    const start = header.indexOf(h, from);
    from = start + h.length;
    return start;
  });
  return { headers, rows: lines.map((l) => starts.map((s, i) => l.slice(s, starts[i + 1]).trim())) };
}

const cnp = (namespace: string, name: string, spec: string) => `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
${spec}`;

const ALLOW_CLIENT_80 = cnp('default', 'allow-client', `  endpointSelector: {matchLabels: {app: web}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}]}]
`);
const PROD_DEFAULT_DENY = cnp('prod', 'default-deny', `  endpointSelector: {}
  ingress: [{}]
`);
const DENY_WORLD = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: deny-world}
spec:
  endpointSelector: {}
  ingressDeny: [{fromEntities: [world]}]
`;
const POLICIES = [ALLOW_CLIENT_80, PROD_DEFAULT_DENY, DENY_WORLD].join('---\n');
const APPLIED = ['ciliumnetworkpolicy.cilium.io/allow-client', 'ciliumnetworkpolicy.cilium.io/default-deny', 'ciliumclusterwidenetworkpolicy.cilium.io/deny-world'];

/** Everything a failed apply must leave as it was. */
async function policyState() {
  const [cnps, ccnps] = await Promise.all([api('GET', '/policies'), api('GET', '/clusterwide-policies')]);
  return { cnps, ccnps };
}

interface CreatedEndpoint {
  id: number;
  identity: { id: number; labels: string[] };
}
let web: CreatedEndpoint;
let client: CreatedEndpoint;

beforeAll(async () => {
  dev = await startWranglerDev();
  await putCluster(dev, CLUSTER);
  await api('PUT', '/nodes/node-1', { ipv4: '192.168.1.1' });
  const pod = (name: string, ip: string) => ({ labels: [`k8s:app=${name}`], 'k8s-namespace': 'default', 'k8s-pod-name': name, addressing: { ipv4: ip }, 'sync-build-endpoint': true });
  web = await api('PUT', '/nodes/node-1/endpoints/cilium-local:0', pod('web', '10.0.0.10'));
  client = await api('PUT', '/nodes/node-1/endpoints/cilium-local:0', pod('client', '10.0.0.20'));
}, 90000);
afterAll(async () => {
  await dev?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('idplane apply -f', () => {
  it('creates each CNP and CCNP of a file, then -f - of the same text reports them unchanged', async () => {
    const file = join(dir, 'policies.yaml');
    writeFileSync(file, POLICIES);
    expect(await idplane(['apply', '-f', file])).toEqual({ code: 0, stdout: APPLIED.map((r) => `${r} created\n`).join(''), stderr: '' });
    const revision = (await api('GET', '/policies'))['policy-revision'];

    expect(await idplane(['apply', '-f', '-'], POLICIES)).toEqual({ code: 0, stdout: APPLIED.map((r) => `${r} unchanged\n`).join(''), stderr: '' });
    expect((await api('GET', '/policies'))['policy-revision']).toBe(revision);
  });

  it('reports a changed policy as configured and the others unchanged', async () => {
    const changed = [ALLOW_CLIENT_80.replace('app: client', 'app: other'), PROD_DEFAULT_DENY, DENY_WORLD].join('---\n');
    expect((await idplane(['apply', '-f', '-'], changed)).stdout).toBe(`${APPLIED[0]} configured\n${APPLIED[1]} unchanged\n${APPLIED[2]} unchanged\n`);
    expect((await idplane(['apply', '-f', '-'], POLICIES)).stdout).toBe(`${APPLIED[0]} configured\n${APPLIED[1]} unchanged\n${APPLIED[2]} unchanged\n`);
    expect((await api('GET', '/policies/default/allow-client')).policy.metadata.generation).toBe(3);
  });

  it('refuses an invalid document with the server code and field path, exits 1, and stores nothing', async () => {
    const before = await policyState();
    const bad = cnp('default', 'bad-port', '  endpointSelector: {}\n  ingress: [{toPorts: [{ports: [{port: "080"}]}]}]\n');
    const res = await idplane(['apply', '-f', '-'], bad);
    expect([res.code, res.stdout]).toEqual([1, '']);
    expect(res.stderr).toMatch(/^Error from server \(invalid-policy\): error when applying "ciliumnetworkpolicy\.cilium\.io\/bad-port": spec\.ingress\[0\]\.toPorts\[0\]\.ports\[0\]\.port: /);
    expect(await policyState()).toEqual(before);
  });

  it('applies the valid documents around an invalid one, in order, as kubectl does, and exits 1', async () => {
    const before = await policyState();
    const bad = cnp('default', 'bad-field', '  endpointSelector: {}\n  ingress: [{fromNowhere: []}]\n');
    const good = (name: string) => cnp('default', name, '  endpointSelector: {matchLabels: {app: web}}\n  ingress: [{}]\n');
    const res = await idplane(['apply', '-f', '-'], [good('first'), bad, good('last')].join('---\n'));
    expect([res.code, res.stdout]).toEqual([1, 'ciliumnetworkpolicy.cilium.io/first created\nciliumnetworkpolicy.cilium.io/last created\n']);
    expect(res.stderr).toMatch(/^Error from server \(invalid-policy\): error when applying "ciliumnetworkpolicy\.cilium\.io\/bad-field": spec\.ingress\[0\]\.fromNowhere[^\n]*\nerror: 1 of 3 policies not applied\n$/);
    const after = await policyState();
    expect(after.ccnps.items).toEqual(before.ccnps.items);
    expect(after.cnps.items.map((p: any) => `${p.metadata.namespace}/${p.metadata.name}`).sort()).toEqual(
      [...before.cnps.items.map((p: any) => `${p.metadata.namespace}/${p.metadata.name}`), 'default/first', 'default/last'].sort(),
    );
    await Promise.all(['first', 'last'].map((name) => api('DELETE', `/policies/default/${name}`)));
  });

  it('refuses malformed YAML before sending anything', async () => {
    const before = await policyState();
    const res = await idplane(['apply', '-f', '-'], `${DENY_WORLD.replace('deny-world', 'never')}---\nkind: [unclosed\n`);
    expect([res.code, res.stdout]).toEqual([1, '']);
    expect(res.stderr).toMatch(/^error: malformed YAML: /);
    expect(await policyState()).toEqual(before);
  });
});

describe('idplane get cnp|ccnp', () => {
  it.each([
    { args: ['get', 'cnp', '-n', 'default'], headers: ['NAME', 'AGE', 'VALID'], rows: [['allow-client', 'True']] },
    { args: ['get', 'ciliumnetworkpolicies', '-n', 'prod'], headers: ['NAME', 'AGE', 'VALID'], rows: [['default-deny', 'True']] },
    { args: ['get', 'cnp', '-A'], headers: ['NAMESPACE', 'NAME', 'AGE', 'VALID'], rows: [['default', 'allow-client', 'True'], ['prod', 'default-deny', 'True']] },
    { args: ['get', 'ccnp'], headers: ['NAME', 'VALID'], rows: [['deny-world', 'True']] },
  ])('$args shows the CRD printer columns', async ({ args, headers, rows }) => {
    const res = await idplane(args);
    const table = parseTable(res.stdout);
    expect(table.headers).toEqual(headers);
    const age = headers.indexOf('AGE');
    expect(table.rows.map((r) => r.filter((_c, i) => i !== age))).toEqual(rows);
    if (age >= 0) for (const r of table.rows) expect(r[age]).toMatch(/^\d+s$/);
  });

  it('says when a namespace has no policies', async () => {
    expect(await idplane(['get', 'cnp', '-n', 'empty'])).toEqual({ code: 0, stdout: '', stderr: 'No resources found in empty namespace.\n' });
  });

  it.each([
    { args: ['get', 'cnp', 'allow-client', '-n', 'default'], path: '/policies/default/allow-client' },
    { args: ['get', 'ccnp', 'deny-world'], path: '/clusterwide-policies/deny-world' },
  ])('$args -o yaml and -o json print the stored object', async ({ args, path }) => {
    const [{ policy: stored }, { stdout: yamlText }, { stdout: jsonText }] = await Promise.all([api('GET', path), idplane([...args, '-o', 'yaml']), idplane([...args, '-o', 'json'])]);
    expect(parse(yamlText)).toEqual(stored);
    expect(JSON.parse(jsonText)).toEqual(stored);
  });

  it.each([
    { args: ['get', 'cnp', '-A'], path: '/policies' },
    { args: ['get', 'ccnp'], path: '/clusterwide-policies' },
  ])('$args -o yaml lists the stored objects as kubectl\'s List, which applies back unchanged', async ({ args, path }) => {
    const [{ items: stored }, { stdout: yamlText }, { stdout: jsonText }] = await Promise.all([api('GET', path), idplane([...args, '-o', 'yaml']), idplane([...args, '-o', 'json'])]);
    expect(parse(yamlText)).toEqual({ apiVersion: 'v1', items: stored, kind: 'List', metadata: { resourceVersion: '' } });
    expect(JSON.parse(jsonText)).toEqual(parse(yamlText));
    const res = await idplane(['apply', '-f', '-'], yamlText);
    expect([res.code, res.stdout.trimEnd().split('\n').map((l) => l.split(' ')[1])]).toEqual([0, stored.map(() => 'unchanged')]);
    expect((await api('GET', path)).items).toEqual(stored);
  });
});

// IANA numbers of the PORT/PROTO column's protocol names.
const PROTOCOL_NUMBERS: Record<string, number> = { ANY: 0, TCP: 6, UDP: 17, SCTP: 132 };

/** A `bpf policy get` row as the API's entry fields: PORT/PROTO is `PROTO`, `PORT/PROTO` or `PORT-END/PROTO`. */
function rowAsEntry(row: Record<string, string>) {
  const m = /^(?:(\d+)(?:-(\d+))?\/)?(\w+)$/.exec(row['PORT/PROTO']!)!;
  return {
    verdict: row.POLICY!.toLowerCase(),
    direction: row.DIRECTION!.toLowerCase(),
    protocol: PROTOCOL_NUMBERS[m[3]!],
    port: Number(m[1] ?? 0),
    ...(m[2] === undefined ? {} : { 'end-port': Number(m[2]) }),
    'prefix-length': Number(row.PREFIX),
    policies: row.POLICIES === '' ? [] : row.POLICIES!.split(','),
  };
}

/** Rows of a table, continuation rows (empty first cell: more labels) folded into the row above. */
function tableEntries(text: string, identityColumn: string) {
  const { headers, rows } = parseTable(text);
  const entries: { row: Record<string, string>; labels: string[] }[] = [];
  for (const cells of rows) {
    if (cells[0] === '') entries.at(-1)!.labels.push(cells[headers.indexOf(identityColumn)]!);
    else entries.push({ row: Object.fromEntries(headers.map((h, i) => [h, cells[i]!])), labels: [cells[headers.indexOf(identityColumn)]!] });
  }
  return { headers, entries };
}

/** The list as JSON texts with sorted keys, sorted: equal when both hold the same objects. */
const sortedJson = (list: object[]) => list.map((x) => JSON.stringify(Object.fromEntries(Object.entries(x).sort()))).sort();

describe('idplane bpf policy get', () => {
  it('lists one row per entry of the endpoint policy the API computes, identities as their labels', async () => {
    const [computed, res] = await Promise.all([api('GET', `/nodes/node-1/endpoints/${web.id}/policy`), idplane(['bpf', 'policy', 'get', 'node-1', String(web.id)])]);
    expect(computed['ingress-enforced']).toBe(true);
    expect([res.code, res.stderr]).toEqual([0, '']);
    const { headers, entries } = tableEntries(res.stdout, 'LABELS (source:key[=value])');
    expect(headers).toEqual(['POLICY', 'DIRECTION', 'LABELS (source:key[=value])', 'PORT/PROTO', 'PROXY PORT', 'AUTH TYPE', 'PREFIX', 'POLICIES']);
    const labelsOf = async (id: number) => (id === 0 ? ['ANY'] : ((await api('GET', `/identities/${id}`)).labels as string[]).sort());
    const want = await Promise.all(computed.entries.map(async ({ key: _k, value: _v, identity, ...e }: any) => ({ ...e, labels: await labelsOf(identity) })));
    expect(sortedJson(entries.map((e) => ({ ...rowAsEntry(e.row), labels: e.labels })))).toEqual(sortedJson(want));
    expect(want.some((e: any) => e.labels.includes('k8s:app=client') && e.port === 80 && e.policies.includes('default/allow-client'))).toBe(true);
  });

  it('--numeric names each entry by identity number', async () => {
    const [computed, res] = await Promise.all([api('GET', `/nodes/node-1/endpoints/${web.id}/policy`), idplane(['bpf', 'policy', 'get', 'node-1', String(web.id), '--numeric'])]);
    const { headers, entries } = tableEntries(res.stdout, 'IDENTITY');
    expect(headers[2]).toBe('IDENTITY');
    expect(sortedJson(entries.map((e) => ({ ...rowAsEntry(e.row), identity: Number(e.row.IDENTITY) })))).toEqual(
      sortedJson(computed.entries.map(({ key: _k, value: _v, ...e }: any) => e)),
    );
  });

  it('fails with the API error for an endpoint that does not exist', async () => {
    const res = await idplane(['bpf', 'policy', 'get', 'node-1', '4000']);
    expect([res.code, res.stdout]).toEqual([1, '']);
    expect(res.stderr).toMatch(/^Error from server \(endpoint-not-found\): /);
  });
});

describe('idplane policy trace', () => {
  // The client's identity labels as the API lists them (the cluster label included).
  const from = () => ['--src-labels', client.identity.labels.join(',')];
  it.each([
    { dport: '80/TCP', verdict: 'Final verdict: ALLOWED', ingress: /^Ingress of the destination: +Allow: Ingress identity (\d+) 80\/TCP prefix 24, from policies: default\/allow-client$/m },
    { dport: '81/TCP', verdict: 'Final verdict: DENIED', ingress: /^Ingress of the destination: +Deny: no entry matches \(default deny\)$/m },
  ])('traces $dport from labels to the web endpoint: $verdict', async ({ dport, verdict, ingress }) => {
    const res = await idplane(['policy', 'trace', ...from(), '--dst-endpoint', `node-1/${web.id}`, '--dport', dport]);
    expect([res.code, res.stderr]).toEqual([0, '']);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Tracing From: [${client.identity.labels.join(' ')}] (identity ${client.identity.id}) => To: endpoint node-1/${web.id} (identity ${web.identity.id}) Ports: [${dport}]`);
    expect(res.stdout).toMatch(/^Egress of the source: +Allow: /m);
    expect(lines.at(-1)).toBe(verdict);
    const m = ingress.exec(res.stdout);
    expect(m).not.toBeNull();
    if (m![1] !== undefined) expect(Number(m![1])).toBe(client.identity.id);
  });

  it('-o json is the API answer', async () => {
    const body = { from: { labels: client.identity.labels }, to: { endpoint: { node: 'node-1', ref: String(web.id) } }, protocol: 'TCP', port: 81 };
    const [res, answer] = await Promise.all([
      idplane(['policy', 'trace', ...from(), '--dst-endpoint', `node-1/${web.id}`, '--dport', '81', '-o', 'json']),
      api('POST', '/policy/trace', body),
    ]);
    expect(JSON.parse(res.stdout)).toEqual(answer);
  });
});

// The selectors view (GET …/policies/{ns}/{name}/selectors): the CLI's table against the API's
// answer, and the subject and peer selecting the web and client identities.
describe('idplane policy selectors', () => {
  it('lists each selector of a CNP with the identities it selects, as the API answers', async () => {
    const answer = await api('GET', '/policies/default/allow-client/selectors?limit=100');
    const res = await idplane(['policy', 'selectors', 'cnp', 'allow-client', '-n', 'default']);
    expect([res.code, res.stderr]).toEqual([0, '']);
    const { headers, rows } = parseTable(res.stdout);
    expect(headers).toEqual(['SELECTOR', 'IDENTITY', 'LABELS']);
    // Group rows by selector: a new SELECTOR cell starts one, an IDENTITY cell adds to it.
    const shown: { selector: string; identities: number[] }[] = [];
    for (const [selector, identity] of rows) {
      if (selector !== '') shown.push({ selector: selector!, identities: [] });
      if (/^\d+$/.test(identity!)) shown.at(-1)!.identities.push(Number(identity));
    }
    expect(shown.map((s) => s.identities)).toEqual(answer.selectors.map((s: any) => s.identities));
    const subject = shown.find((s) => s.selector.includes('app=web'));
    const peer = shown.find((s) => s.selector.includes('app=client'));
    expect([subject?.identities, peer?.identities]).toEqual([[web.identity.id], [client.identity.id]]);
    expect(res.stdout).toContain('k8s:app=client');
  });

  it('-o json is the API answer', async () => {
    const res = await idplane(['policy', 'selectors', 'cnp', 'allow-client', '-n', 'default', '-o', 'json']);
    expect(JSON.parse(res.stdout)).toEqual(await api('GET', '/policies/default/allow-client/selectors?limit=100'));
  });
});

describe('idplane delete cnp|ccnp', () => {
  it.each([
    { args: ['delete', 'cnp', 'allow-client', '-n', 'default'], says: 'ciliumnetworkpolicy.cilium.io "allow-client" deleted\n', get: ['get', 'cnp', '-n', 'default'], gone: 'No resources found in default namespace.\n' },
    { args: ['delete', 'ccnp', 'deny-world'], says: 'ciliumclusterwidenetworkpolicy.cilium.io "deny-world" deleted\n', get: ['get', 'ccnp'], gone: 'No resources found\n' },
  ])('$args deletes it, and get shows it gone', async ({ args, says, get, gone }) => {
    expect(await idplane(args)).toEqual({ code: 0, stdout: says, stderr: '' });
    expect(await idplane(get)).toEqual({ code: 0, stdout: '', stderr: gone });
  });

  it.each([
    { args: ['delete', 'cnp', 'allow-client', '-n', 'default'], says: 'Error from server (policy-not-found): CiliumNetworkPolicy default/allow-client not found\n' },
    { args: ['delete', 'ccnp', 'no-such'], says: 'Error from server (policy-not-found): CiliumClusterwideNetworkPolicy no-such not found\n' },
  ])('$args of an unknown policy exits 1 and says so', async ({ args, says }) => {
    const before = await policyState();
    expect(await idplane(args)).toEqual({ code: 1, stdout: '', stderr: says });
    expect(await policyState()).toEqual(before);
  });
});
