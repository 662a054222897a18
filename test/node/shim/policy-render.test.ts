// The policy commands' tables and argument parsing, from API answers.
import { describe, expect, it } from 'vitest';
import { parseDport, parsePolicyKind, tracePeer } from '../../../src/shim/cli/policy.js';
import { portProtoString, renderBpfPolicy, renderClusterwidePolicies, renderNetworkPolicies, renderPolicySelectors, renderTrace, selectorText, sortBpfEntries } from '../../../src/shim/cli/policy-render.js';
import type { PolicyMapEntry, PolicyObject, TraceAnswer } from '../../../src/api/policies.js';

type TraceSide = TraceAnswer['egress'];

const NOW = Date.parse('2026-11-29T12:00:00Z');

function policy(kind: PolicyObject['kind'], namespace: string | undefined, name: string, created = '2026-11-29T11:55:00Z'): PolicyObject {
  return {
    apiVersion: 'cilium.io/v2',
    kind,
    metadata: { name, ...(namespace === undefined ? {} : { namespace }), creationTimestamp: created, generation: 1, resourceVersion: '2' },
    spec: { endpointSelector: {} },
  };
}

function entry(e: Partial<PolicyMapEntry> & Pick<PolicyMapEntry, 'identity' | 'direction'>): PolicyMapEntry {
  return { key: '', value: '', protocol: 0, port: 0, 'prefix-length': 0, verdict: 'allow', policies: [], ...e };
}

const rows = (table: string) => table.split('\n').map((l) => l.split(/\s{3,}/));

describe('get cnp / ccnp tables (the CRDs printer columns)', () => {
  it('lists CNPs by namespace then name with AGE and VALID; -A adds NAMESPACE', () => {
    const items = [policy('CiliumNetworkPolicy', 'b', 'web'), policy('CiliumNetworkPolicy', 'a', 'z-deny', '2026-11-28T12:00:00Z'), policy('CiliumNetworkPolicy', 'a', 'allow')];
    expect(rows(renderNetworkPolicies(items, { allNamespaces: true, now: NOW }))).toEqual([
      ['NAMESPACE', 'NAME', 'AGE', 'VALID'],
      ['a', 'allow', '5m', 'True'],
      ['a', 'z-deny', '24h', 'True'],
      ['b', 'web', '5m', 'True'],
    ]);
    expect(rows(renderNetworkPolicies(items.slice(1), { allNamespaces: false, now: NOW }))).toEqual([
      ['NAME', 'AGE', 'VALID'],
      ['allow', '5m', 'True'],
      ['z-deny', '24h', 'True'],
    ]);
  });

  it('lists CCNPs by name with VALID only', () => {
    expect(renderClusterwidePolicies([policy('CiliumClusterwideNetworkPolicy', undefined, 'zz'), policy('CiliumClusterwideNetworkPolicy', undefined, 'Aa')])).toBe(
      ['NAME      VALID', 'Aa        True', 'zz        True'].join('\n'),
    );
  });
});

describe('PORT/PROTO (PolicyKey.PortProtoString)', () => {
  it.each([
    [{ protocol: 0, port: 0, 'prefix-length': 0 }, 'ANY'],
    [{ protocol: 6, port: 0, 'prefix-length': 8 }, 'TCP'],
    [{ protocol: 17, port: 53, 'prefix-length': 24 }, '53/UDP'],
    [{ protocol: 6, port: 8080, 'end-port': 8083, 'prefix-length': 22 }, '8080-8083/TCP'],
    [{ protocol: 132, port: 5000, 'prefix-length': 24 }, '5000/SCTP'],
    [{ protocol: 99, port: 0, 'prefix-length': 8 }, '99'],
  ])('%o → %s', (e, want) => {
    expect(portProtoString(e)).toBe(want);
  });
});

describe('bpf policy get (cilium bpf policy get)', () => {
  const entries = [
    entry({ identity: 0, direction: 'egress' }),
    entry({ identity: 0, direction: 'ingress', protocol: 6, port: 80, 'prefix-length': 24, policies: ['default/web'] }),
    entry({ identity: 1, direction: 'ingress' }),
    entry({ identity: 300, direction: 'ingress', verdict: 'deny', policies: ['default/deny', 'ccnp-deny'] }),
    entry({ identity: 2, direction: 'egress', protocol: 17, port: 53, 'prefix-length': 24, verdict: 'deny', policies: ['default/deny'] }),
  ];

  it('orders deny first, then ingress before egress, then by identity', () => {
    expect(sortBpfEntries(entries).map((e) => `${e.verdict} ${e.direction} ${e.identity}`)).toEqual([
      'deny ingress 300',
      'deny egress 2',
      'allow ingress 0',
      'allow ingress 1',
      'allow egress 0',
    ]);
  });

  it('keeps key order between entries of one identity', () => {
    const two = [entry({ identity: 5, direction: 'ingress', protocol: 6, port: 80, 'prefix-length': 24 }), entry({ identity: 5, direction: 'ingress', protocol: 17, port: 53, 'prefix-length': 24 })];
    expect(sortBpfEntries(two)).toEqual(two);
  });

  it('prints identity 0 as ANY and each label of an identity on its own line; unknown identities by number', () => {
    const labels = new Map([
      [1, ['reserved:host']],
      [300, ['k8s:io.kubernetes.pod.namespace=default', 'k8s:app=client']],
    ]);
    expect(renderBpfPolicy(entries, { labels, numeric: false }).split('\n')).toEqual([
      'POLICY   DIRECTION   LABELS (source:key[=value])               PORT/PROTO   PROXY PORT   AUTH TYPE   PREFIX   POLICIES',
      'Deny     Ingress     k8s:app=client                            ANY          NONE         disabled    0        default/deny,ccnp-deny',
      '                     k8s:io.kubernetes.pod.namespace=default',
      'Deny     Egress      2                                         53/UDP       NONE         disabled    24       default/deny',
      'Allow    Ingress     ANY                                       80/TCP       NONE         disabled    24       default/web',
      'Allow    Ingress     reserved:host                             ANY          NONE         disabled    0',
      'Allow    Egress      ANY                                       ANY          NONE         disabled    0',
    ]);
  });

  it('prints identity numbers with --numeric', () => {
    expect(rows(renderBpfPolicy(entries.slice(0, 3), { labels: new Map(), numeric: true })).map((r) => r.slice(0, 4))).toEqual([
      ['POLICY', 'DIRECTION', 'IDENTITY', 'PORT/PROTO'],
      ['Allow', 'Ingress', '0', '80/TCP'],
      ['Allow', 'Ingress', '1', 'ANY'],
      ['Allow', 'Egress', '0', 'ANY'],
    ]);
  });
});

describe('policy trace', () => {
  const answer: TraceAnswer = {
    verdict: 'deny',
    from: 300,
    to: 512,
    egress: { verdict: 'allow', entry: entry({ identity: 0, direction: 'egress' }), policies: [] },
    ingress: { verdict: 'deny', entry: entry({ identity: 300, direction: 'ingress', protocol: 6, port: 80, 'prefix-length': 24, verdict: 'deny', policies: ['default/deny'] }), policies: ['default/deny'] },
  };

  it('prints each side with its deciding entry and policies, then the verdict', () => {
    expect(renderTrace(answer, { from: 'identity 300', to: 'endpoint node-1/cilium-local:0', port: '80/TCP' }).split('\n')).toEqual([
      'Tracing From: identity 300 => To: endpoint node-1/cilium-local:0 (identity 512) Ports: [80/TCP]',
      '',
      'Egress of the source:       Allow: Egress ANY ANY prefix 0, from policies: none',
      'Ingress of the destination: Deny: Ingress identity 300 80/TCP prefix 24, from policies: default/deny',
      '',
      'Final verdict: DENIED',
    ]);
  });

  it('names the identities the API traced when the query gave labels or an endpoint', () => {
    const lines = renderTrace(answer, { from: 'identity 300', to: '[k8s:app=web]', port: '80/TCP' }).split('\n');
    expect(lines[0]).toBe('Tracing From: identity 300 => To: [k8s:app=web] (identity 512) Ports: [80/TCP]');
  });

  it.each<[TraceSide, string]>([
    [{ verdict: 'allow', entry: null, policies: [] }, 'Allow: not enforced (no policy of its own)'],
    [{ verdict: 'deny', entry: null, policies: [] }, 'Deny: no entry matches (default deny)'],
  ])('a side without an entry: %o', (side, want) => {
    const text = renderTrace({ verdict: side.verdict, from: 1, to: 2, egress: side, ingress: { verdict: 'allow', entry: null, policies: [] } }, { from: 'a', to: 'b', port: '1/TCP' });
    expect(text.split('\n')[2]).toBe(`Egress of the source:       ${want}`);
    expect(text.split('\n').at(-1)).toBe(`Final verdict: ${side.verdict === 'allow' ? 'ALLOWED' : 'DENIED'}`);
  });

  it.each([
    ['80/TCP', { port: 80, protocol: 'TCP' }],
    ['53/udp', { port: 53, protocol: 'UDP' }],
    ['443', { port: 443, protocol: 'TCP' }],
    ['0/SCTP', { port: 0, protocol: 'SCTP' }],
    ['5000/132', { port: 5000, protocol: 132 }],
  ])('--dport %s', (text, want) => {
    expect(parseDport(text)).toEqual(want);
  });

  it.each(['', '80/', '65536/TCP', '80/ICMP', '80/256', 'http', '-1/TCP'])('--dport %j is refused', (text) => {
    expect(() => parseDport(text)).toThrow();
  });

  it.each([
    [{ identity: '300' }, { identity: 300 }],
    [{ labels: 'k8s:app=web, k8s:io.kubernetes.pod.namespace=default' }, { labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=default'] }],
    [{ endpoint: 'node-1/cilium-local:0' }, { endpoint: { node: 'node-1', ref: 'cilium-local:0' } }],
  ])('peer %o', (flags, want) => {
    expect(tracePeer(flags, 'src').peer).toEqual(want);
  });

  it.each([
    [{}, 'give exactly one of --src-identity, --src-labels, --src-endpoint'],
    [{ identity: '1', labels: 'a' }, 'give exactly one of'],
    [{ identity: 'web' }, '--src-identity: expected a number'],
    [{ endpoint: 'node-1' }, '--src-endpoint: expected NODE/REF'],
    [{ endpoint: '/ref' }, '--src-endpoint: expected NODE/REF'],
  ])('peer %o is refused', (flags, message) => {
    expect(() => tracePeer(flags, 'src')).toThrow(message);
  });
});

describe('policy selectors', () => {
  const key = (matchLabels: Record<string, string>, matchExpressions: [string, string, string[]][] = []) => JSON.stringify({ matchLabels, matchExpressions });

  it.each([
    [key({ 'any.app': 'web', 'k8s.io.kubernetes.pod.namespace': 'default' }), 'any:app=web,k8s:io.kubernetes.pod.namespace=default'],
    [key({}, [['k8s.tier', 'In', ['a', 'b']], ['any.env', 'NotIn', ['prod']]]), 'k8s:tier in (a,b),any:env notin (prod)'],
    [key({}, [['any.canary', 'Exists', []], ['any.legacy', 'DoesNotExist', []]]), 'any:canary,!any:legacy'],
    [key({}), '(all identities)'],
  ])('%s → %s', (k, want) => {
    expect(selectorText(k)).toBe(want);
  });

  const answer = {
    'policy-revision': 4,
    selectors: [
      { selector: key({ 'any.app': 'web' }), identities: [300, 301], count: 3 },
      { selector: key({ 'any.app': 'db' }), identities: [], count: 0 },
    ],
  };

  it('lists each selector with its identities and their labels, and how many were left out', () => {
    const labels = new Map([[300, ['k8s:io.kubernetes.pod.namespace=default', 'k8s:app=web']]]);
    expect(renderPolicySelectors(answer, { labels, numeric: false }).split('\n')).toEqual([
      'SELECTOR      IDENTITY   LABELS',
      'any:app=web   300        k8s:app=web',
      '                         k8s:io.kubernetes.pod.namespace=default',
      '              301',
      '              (1 more)',
      'any:app=db    (none)',
    ]);
  });

  it('prints numbers only with --numeric', () => {
    expect(renderPolicySelectors(answer, { labels: new Map(), numeric: true }).split('\n')).toEqual([
      'SELECTOR      IDENTITY',
      'any:app=web   300',
      '              301',
      '              (1 more)',
      'any:app=db    (none)',
    ]);
  });

  it.each([
    ['cnp', 'CiliumNetworkPolicy'],
    ['CiliumNetworkPolicies', 'CiliumNetworkPolicy'],
    ['ccnp', 'CiliumClusterwideNetworkPolicy'],
    ['ciliumclusterwidenetworkpolicy', 'CiliumClusterwideNetworkPolicy'],
  ])('kind %s', (text, want) => {
    expect(parsePolicyKind(text)).toBe(want);
  });

  it('refuses another kind', () => {
    expect(() => parsePolicyKind('networkpolicy')).toThrow('expected cnp or ccnp');
  });
});
