// The policy commands end to end against a local fake of the policy API.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/shim/api-client.js';
import { buildProgram } from '../../../src/shim/cli/main.js';
import type { PolicyMapEntry } from '../../../src/api/policies.js';
import { startFakeApi, TOKEN, type FakeApi } from './fake-policy-api.js';

let api: FakeApi;
let dir: string;

const entry = (e: Partial<PolicyMapEntry> & Pick<PolicyMapEntry, 'identity' | 'direction'>): PolicyMapEntry => ({
  key: '', value: '', protocol: 0, port: 0, 'prefix-length': 0, verdict: 'allow', policies: [], ...e,
});

beforeAll(async () => {
  api = await startFakeApi({
    identities: new Map([[1, ['reserved:host']], [300, ['k8s:app=client', 'k8s:io.kubernetes.pod.namespace=default']]]),
    endpointPolicies: new Map([
      ['node-1/cilium-local:0', {
        'policy-revision': 3, 'ingress-enforced': true, 'egress-enforced': false,
        entries: [
          entry({ identity: 0, direction: 'egress' }),
          entry({ identity: 1, direction: 'ingress' }),
          entry({ identity: 300, direction: 'ingress', protocol: 6, port: 80, 'prefix-length': 24, policies: ['default/web'] }),
          entry({ identity: 999, direction: 'ingress', verdict: 'deny', policies: ['deny-all'] }),
        ],
      }],
    ]),
    trace: {
      verdict: 'allow',
      from: 300,
      to: 512,
      egress: { verdict: 'allow', entry: null, policies: [] },
      ingress: { verdict: 'allow', entry: entry({ identity: 300, direction: 'ingress', protocol: 6, port: 80, 'prefix-length': 24, policies: ['default/web'] }), policies: ['default/web'] },
    },
    selectors: new Map([
      ['default/web', { 'policy-revision': 2, selectors: [{ selector: JSON.stringify({ matchLabels: { 'any.app': 'web' }, matchExpressions: [] }), identities: [1, 300, 999], count: 3 }] }],
    ]),
  });
  dir = await mkdtemp(join(tmpdir(), 'idplane-cli-'));
});
afterAll(async () => {
  await api?.close();
});
beforeEach(() => {
  api.policies.clear();
});

/** Runs one command; resolves with its output, rejects with what main() would report. */
async function idplane(args: string[], stdin = '') {
  let stdout = '';
  let stderr = '';
  const program = buildProgram((s) => (stdout += s), (s) => (stderr += s), async () => stdin);
  await program.parseAsync(['--url', api.url, '--token', TOKEN, '--cluster', 'c', ...args], { from: 'user' });
  return { stdout, stderr };
}

const cnp = (name: string, namespace?: string, port = '80') => `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: ${name}
${namespace ? `  namespace: ${namespace}\n` : ''}spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress: [{toPorts: [{ports: [{port: "${port}", protocol: TCP}]}]}]
`;
const ccnp = (name: string) => `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: ${name}}
spec: {endpointSelector: {}, ingressDeny: [{fromEntities: [world]}]}
`;

describe('idplane apply -f', () => {
  it('creates, then reports unchanged and configured as kubectl does', async () => {
    const file = join(dir, 'policies.yaml');
    await writeFile(file, [cnp('web'), cnp('api', 'prod'), ccnp('deny-world')].join('---\n'));
    expect((await idplane(['apply', '-f', file])).stdout).toBe(
      ['ciliumnetworkpolicy.cilium.io/web created', 'ciliumnetworkpolicy.cilium.io/api created', 'ciliumclusterwidenetworkpolicy.cilium.io/deny-world created', ''].join('\n'),
    );
    expect([...api.policies.keys()].sort()).toEqual(['default/web', 'deny-world', 'prod/api']);
    const revision = api.policyRevision();

    await writeFile(file, [cnp('web', undefined, '8080'), cnp('api', 'prod'), ccnp('deny-world')].join('---\n'));
    expect((await idplane(['apply', '-f', file])).stdout).toBe(
      ['ciliumnetworkpolicy.cilium.io/web configured', 'ciliumnetworkpolicy.cilium.io/api unchanged', 'ciliumclusterwidenetworkpolicy.cilium.io/deny-world unchanged', ''].join('\n'),
    );
    expect(api.policyRevision()).toBe(revision + 1);
  });

  it('reads standard input with -f - and puts namespace-less CNPs in -n', async () => {
    expect((await idplane(['apply', '-f', '-', '-n', 'prod'], cnp('web'))).stdout).toBe('ciliumnetworkpolicy.cilium.io/web created\n');
    expect([...api.policies.keys()]).toEqual(['prod/web']);
  });

  it('goes on after a refused object, reports each refusal and fails', async () => {
    const bad = 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: empty}\n';
    const out = { stdout: '', stderr: '' };
    const run = buildProgram((s) => (out.stdout += s), (s) => (out.stderr += s), async () => [cnp('a', 'dev'), bad, cnp('b', 'other'), cnp('c')].join('---\n'));
    await expect(run.parseAsync(['--url', api.url, '--token', TOKEN, '--cluster', 'c', 'apply', '-f', '-', '-n', 'dev'], { from: 'user' })).rejects.toThrow(
      '2 of 4 policies not applied',
    );
    expect(out.stdout).toBe('ciliumnetworkpolicy.cilium.io/a created\nciliumnetworkpolicy.cilium.io/c created\n');
    expect(out.stderr).toBe(
      'Error from server (invalid-policy): error when applying "ciliumnetworkpolicy.cilium.io/empty": spec: Required value\n' +
        'error: the namespace from the provided object "other" does not match the namespace "dev". You must pass \'--namespace=other\' to perform this operation.\n',
    );
    expect([...api.policies.keys()].sort()).toEqual(['dev/a', 'dev/c']);
  });

  it('refuses a file that is not policies before sending anything', async () => {
    const before = api.requests.length;
    await expect(idplane(['apply', '-f', '-'], 'kind: Pod\nmetadata: {name: x}\n')).rejects.toThrow('document 1: kind "Pod" is not CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy');
    expect(api.requests.length).toBe(before);
  });
});

describe('idplane get cnp|ccnp and delete', () => {
  beforeEach(async () => {
    await idplane(['apply', '-f', '-'], [cnp('b', 'default'), cnp('a', 'default'), cnp('x', 'prod'), ccnp('deny-z'), ccnp('deny-y'), cnp('c', 'default')].join('---\n'));
  });

  it.each([
    [['get', 'cnp'], [['NAME', 'AGE', 'VALID'], ['a'], ['b'], ['c']]],
    [['get', 'ciliumnetworkpolicies', '-n', 'prod'], [['NAME', 'AGE', 'VALID'], ['x']]],
    [['get', 'ciliumnetworkpolicy', '-A'], [['NAMESPACE', 'NAME', 'AGE', 'VALID'], ['default', 'a'], ['default', 'b'], ['default', 'c'], ['prod', 'x']]],
    [['get', 'ccnp'], [['NAME', 'VALID'], ['deny-y', 'True'], ['deny-z', 'True']]],
    [['get', 'ciliumclusterwidenetworkpolicies', 'deny-z'], [['NAME', 'VALID'], ['deny-z', 'True']]],
    [['get', 'cnp', 'x', '-n', 'prod'], [['NAME', 'AGE', 'VALID'], ['x']]],
  ])('%j (across pages of two)', async (args, want) => {
    const lines = (await idplane(args)).stdout.trimEnd().split('\n').map((l) => l.split(/\s{3,}/));
    expect(lines.map((cells, i) => cells.slice(0, want[i]!.length))).toEqual(want);
  });

  it('prints -o json and -o yaml as the stored objects', async () => {
    const json = JSON.parse((await idplane(['get', 'cnp', '-n', 'prod', '-o', 'json'])).stdout);
    expect(json).toEqual({ apiVersion: 'v1', items: [api.policies.get('prod/x')], kind: 'List', metadata: { resourceVersion: '' } });
    const { parse } = await import('yaml');
    expect(parse((await idplane(['get', 'ccnp', 'deny-z', '-o', 'yaml'])).stdout)).toEqual(api.policies.get('deny-z'));
  });

  it('reads its own -o yaml list back with apply -f - as unchanged, as kubectl does', async () => {
    const listed = (await idplane(['get', 'cnp', '-A', '-o', 'yaml'])).stdout;
    expect((await idplane(['apply', '-f', '-'], listed)).stdout).toBe(['a', 'b', 'c', 'x'].map((n) => `ciliumnetworkpolicy.cilium.io/${n} unchanged\n`).join(''));
  });

  it('says when a namespace has no policies', async () => {
    expect(await idplane(['get', 'cnp', '-n', 'empty'])).toEqual({ stdout: '', stderr: 'No resources found in empty namespace.\n' });
  });

  it.each([
    [['delete', 'cnp', 'x', '-n', 'prod'], 'ciliumnetworkpolicy.cilium.io "x" deleted\n', 'prod/x'],
    [['delete', 'ccnp', 'deny-y'], 'ciliumclusterwidenetworkpolicy.cilium.io "deny-y" deleted\n', 'deny-y'],
  ])('%j', async (args, want, key) => {
    expect((await idplane(args)).stdout).toBe(want);
    expect(api.policies.has(key)).toBe(false);
  });

  it('reports a policy that does not exist with the API code', async () => {
    await expect(idplane(['delete', 'cnp', 'nope'])).rejects.toMatchObject(new ApiError(404, 'policy-not-found', 'policy default/nope not found'));
    expect(api.policies.size).toBe(6);
  });
});

describe('idplane bpf policy get', () => {
  it('lists the entries with labels resolved through the identities API', async () => {
    const { stdout, stderr } = await idplane(['bpf', 'policy', 'get', 'node-1', 'cilium-local:0']);
    expect(stdout.trimEnd().split('\n').map((l) => l.split(/\s{3,}/).slice(0, 4))).toEqual([
      ['POLICY', 'DIRECTION', 'LABELS (source:key[=value])', 'PORT/PROTO'],
      ['Deny', 'Ingress', '999', 'ANY'],
      ['Allow', 'Ingress', 'reserved:host', 'ANY'],
      ['Allow', 'Ingress', 'k8s:app=client', '80/TCP'],
      ['', 'k8s:io.kubernetes.pod.namespace=default'],
      ['Allow', 'Egress', 'ANY', 'ANY'],
    ]);
    expect(stderr).toBe('Was impossible to retrieve label ID 999: identity 999 not found\n');
  });

  it('prints the API answer with -o json', async () => {
    const json = JSON.parse((await idplane(['bpf', 'policy', 'get', 'node-1', 'cilium-local:0', '-o', 'json'])).stdout);
    expect(json['ingress-enforced']).toBe(true);
    expect(json.entries).toHaveLength(4);
  });

  it('fails with the API error for an unknown endpoint', async () => {
    await expect(idplane(['bpf', 'policy', 'get', 'node-1', 'cilium-local:7'])).rejects.toMatchObject({ code: 'endpoint-not-found' });
  });
});

describe('idplane policy trace', () => {
  it.each([
    [['--src-identity', '300', '--dst-endpoint', 'node-1/cilium-local:0', '--dport', '80/TCP'], { from: { identity: 300 }, to: { endpoint: { node: 'node-1', ref: 'cilium-local:0' } }, protocol: 'TCP', port: 80 }],
    [['--src-labels', 'k8s:app=a,k8s:io.kubernetes.pod.namespace=default', '--dst-identity', '1', '--dport', '53/udp'], { from: { labels: ['k8s:app=a', 'k8s:io.kubernetes.pod.namespace=default'] }, to: { identity: 1 }, protocol: 'UDP', port: 53 }],
  ])('sends %j as the documented request', async (args, body) => {
    api.traces.length = 0;
    const { stdout } = await idplane(['policy', 'trace', ...args]);
    expect(api.traces).toEqual([body]);
    expect(stdout).toContain('Ingress of the destination: Allow: Ingress identity 300 80/TCP prefix 24, from policies: default/web');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Final verdict: ALLOWED');
  });

  it('refuses a trace without a destination before asking the API', async () => {
    api.traces.length = 0;
    await expect(idplane(['policy', 'trace', '--src-identity', '300', '--dport', '80'])).rejects.toThrow('give exactly one of --dst-identity, --dst-labels, --dst-endpoint');
    expect(api.traces).toEqual([]);
  });
});

describe('idplane policy selectors', () => {
  beforeEach(async () => {
    await idplane(['apply', '-f', '-'], cnp('web'));
  });

  it('lists the identities a policy selects, with labels, asking the API for at most --limit', async () => {
    const before = api.requests.length;
    const { stdout } = await idplane(['policy', 'selectors', 'cnp', 'web', '--limit', '2']);
    expect(stdout.trimEnd().split('\n').map((l) => l.trim().split(/\s{3,}/))).toEqual([
      ['SELECTOR', 'IDENTITY', 'LABELS'],
      ['any:app=web', '1', 'reserved:host'],
      ['300', 'k8s:app=client'],
      ['k8s:io.kubernetes.pod.namespace=default'],
      ['(1 more)'],
    ]);
    expect(api.requests.slice(before)).not.toContain('GET /v1/clusters/c/identities/999');
  });

  it('reports a policy that does not exist', async () => {
    await expect(idplane(['policy', 'selectors', 'ccnp', 'web'])).rejects.toMatchObject({ code: 'policy-not-found' });
  });
});
