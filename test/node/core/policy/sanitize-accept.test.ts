// Every form idplane accepts, with the exact rule model it becomes.
import { describe, expect, it } from 'vitest';
import { parsePolicyBody } from '../../../../src/core/policy/parse.js';
import type { Rule } from '../../../../src/core/policy/rule.js';
import { sanitizePolicy } from '../../../../src/core/policy/sanitize.js';
import { CCNP_TARGET, CNP_TARGET, ccnp, cnp, egressOnly, ingressOnly, ports } from './policy-fixtures.js';

const ALL = { endpointSelector: {} };

describe('sanitizePolicy: accepted forms become the rule model', () => {
  it.each<{ name: string; input: Record<string, unknown>; rules: Rule[] }>([
    {
      name: 'matchLabels subject, L3 peer by labels',
      input: cnp({
        spec: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { 'k8s:app': 'client' } }] }] },
      }),
      rules: [{ endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ endpoints: [{ matchLabels: { 'k8s:app': 'client' } }] }] }],
    },
    {
      name: 'matchExpressions with all four operators (Exists values [] dropped)',
      input: egressOnly({
        toEndpoints: [
          {
            matchExpressions: [
              { key: 'tier', operator: 'In', values: ['a', 'b'] },
              { key: 'env', operator: 'NotIn', values: ['prod'] },
              { key: 'io.kubernetes.pod.namespace', operator: 'Exists' },
              { key: 'legacy', operator: 'DoesNotExist', values: [] },
            ],
          },
        ],
      }),
      rules: [
        {
          ...ALL,
          egress: [
            {
              endpoints: [
                {
                  matchExpressions: [
                    { key: 'tier', operator: 'In', values: ['a', 'b'] },
                    { key: 'env', operator: 'NotIn', values: ['prod'] },
                    { key: 'io.kubernetes.pod.namespace', operator: 'Exists' },
                    { key: 'legacy', operator: 'DoesNotExist' },
                  ],
                },
              ],
            },
          ],
        },
      ],
    },
    {
      name: 'reserved and source-prefixed selector keys',
      input: ingressOnly({ fromEndpoints: [{ matchLabels: { 'reserved:host': '' } }, { matchLabels: { $host: '' } }] }),
      rules: [{ ...ALL, ingress: [{ endpoints: [{ matchLabels: { 'reserved:host': '' } }, { matchLabels: { $host: '' } }] }] }],
    },
    {
      name: 'entities in all four directions',
      input: cnp({
        spec: {
          ...ALL,
          ingress: [{ fromEntities: ['world', 'cluster'] }],
          ingressDeny: [{ fromEntities: ['host'] }],
          egress: [{ toEntities: ['kube-apiserver', 'remote-node'] }],
          egressDeny: [{ toEntities: ['all'] }],
        },
      }),
      rules: [
        {
          ...ALL,
          ingress: [{ entities: ['world', 'cluster'] }],
          ingressDeny: [{ entities: ['host'] }],
          egress: [{ entities: ['kube-apiserver', 'remote-node'] }],
          egressDeny: [{ entities: ['all'] }],
        },
      ],
    },
    {
      name: 'CIDR and CIDRSet with except, IPv4 and IPv6, host bits kept as written',
      input: egressOnly({ toCIDR: ['10.0.0.0/8', '192.168.1.7/24', 'fd00::/64'] }),
      rules: [{ ...ALL, egress: [{ cidr: ['10.0.0.0/8', '192.168.1.7/24', 'fd00::/64'] }] }],
    },
    {
      name: 'a bare IP in fromCIDR/toCIDR is a host prefix (POLICY.md §9)',
      input: ingressOnly({ fromCIDR: ['10.1.2.3', 'fd00::1'] }),
      rules: [{ ...ALL, ingress: [{ cidr: ['10.1.2.3', 'fd00::1'] }] }],
    },
    {
      name: 'CIDRSet with except (an except address inside the prefix)',
      input: ingressOnly({ fromCIDRSet: [{ cidr: '10.0.0.0/8', except: ['10.96.0.0/12', '10.1.2.3/32'] }, { cidr: '0.0.0.0/0' }] }),
      rules: [{ ...ALL, ingress: [{ cidrSet: [{ cidr: '10.0.0.0/8', except: ['10.96.0.0/12', '10.1.2.3/32'] }, { cidr: '0.0.0.0/0' }] }] }],
    },
    {
      name: 'ports: protocols, omitted protocol is ANY, ranges, port 0, endPort 0 means none',
      input: ports(
        { port: '80', protocol: 'TCP' },
        { port: '53', protocol: 'UDP' },
        { port: '5000', protocol: 'SCTP' },
        { port: '443', protocol: 'ANY' },
        { port: '8080' },
        { port: '8080', endPort: 8083, protocol: 'TCP' },
        { port: '9000', endPort: 100 },
        { port: '0', protocol: 'TCP' },
        { port: '0', endPort: 0 },
        { port: '65535' },
      ),
      rules: [
        {
          ...ALL,
          ingress: [
            {
              toPorts: [
                {
                  ports: [
                    { port: 80, protocol: 'TCP' },
                    { port: 53, protocol: 'UDP' },
                    { port: 5000, protocol: 'SCTP' },
                    { port: 443, protocol: 'ANY' },
                    { port: 8080, protocol: 'ANY' },
                    { port: 8080, endPort: 8083, protocol: 'TCP' },
                    { port: 9000, endPort: 100, protocol: 'ANY' },
                    { port: 0, protocol: 'TCP' },
                    { port: 0, protocol: 'ANY' },
                    { port: 65535, protocol: 'ANY' },
                  ],
                },
              ],
            },
          ],
        },
      ],
    },
    {
      name: 'L3 peer with ports, toPorts item without ports, explicit empty peer lists kept',
      input: cnp({
        spec: {
          ...ALL,
          ingress: [{ fromEndpoints: [], toPorts: [{}] }, { fromEntities: ['world'], toPorts: [{ ports: [] }] }],
          egress: [{ toCIDR: [], toCIDRSet: [] }],
        },
      }),
      rules: [
        {
          ...ALL,
          ingress: [
            { endpoints: [], toPorts: [{}] },
            { entities: ['world'], toPorts: [{ ports: [] }] },
          ],
          egress: [{ cidr: [], cidrSet: [] }],
        },
      ],
    },
    {
      name: 'deny sections with ports, empty allow section, enableDefaultDeny and description',
      input: cnp({
        spec: {
          description: 'deny dns to world',
          endpointSelector: { matchLabels: { app: 'web' } },
          egressDeny: [{ toEntities: ['world'], toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }] }] }],
          ingress: [{}],
          enableDefaultDeny: { egress: false },
        },
      }),
      rules: [
        {
          endpointSelector: { matchLabels: { app: 'web' } },
          egressDeny: [{ entities: ['world'], toPorts: [{ ports: [{ port: 53, protocol: 'UDP' }] }] }],
          ingress: [{}],
          enableDefaultDeny: { egress: false },
          description: 'deny dns to world',
        },
      ],
    },
    {
      name: 'a direction given as [] beside a real one',
      input: cnp({ spec: { ...ALL, ingress: [], egress: [{ toEntities: ['world'] }] } }),
      rules: [{ ...ALL, ingress: [], egress: [{ entities: ['world'] }] }],
    },
    {
      name: 'spec and specs: spec first, then specs in order',
      input: cnp({
        spec: { ...ALL, ingress: [{}] },
        specs: [
          { endpointSelector: { matchLabels: { a: '1' } }, egress: [{}] },
          { endpointSelector: { matchLabels: { b: '2' } }, egressDeny: [{ toEntities: ['world'] }] },
        ],
      }),
      rules: [
        { ...ALL, ingress: [{}] },
        { endpointSelector: { matchLabels: { a: '1' } }, egress: [{}] },
        { endpointSelector: { matchLabels: { b: '2' } }, egressDeny: [{ entities: ['world'] }] },
      ],
    },
    {
      name: 'specs alone, and specs: [] is zero rules (Cilium accepts it)',
      input: cnp({ specs: [] }),
      rules: [],
    },
    {
      name: 'null fields are pruned as kube-apiserver prunes them',
      input: cnp({ spec: { ...ALL, ingress: [{ fromEndpoints: null, toPorts: [{ ports: [{ port: '80', protocol: null }] }] }], egress: null }, specs: null }),
      rules: [{ ...ALL, ingress: [{ toPorts: [{ ports: [{ port: 80, protocol: 'ANY' }] }] }] }],
    },
  ])('$name', ({ input, rules }) => {
    expect(sanitizePolicy(input, CNP_TARGET)).toEqual({
      policy: { kind: 'CiliumNetworkPolicy', namespace: 'team-a', name: 'web', rules },
      metadata: { labels: {}, annotations: {} },
    });
  });

  it('CCNP: no namespace, the rules as written (scoping is the engine’s)', () => {
    const out = sanitizePolicy(ccnp({ spec: { ...ALL, ingress: [{ fromEndpoints: [{}] }] } }), CCNP_TARGET);
    expect(out.policy).toEqual({
      kind: 'CiliumClusterwideNetworkPolicy',
      namespace: null,
      name: 'global',
      rules: [{ ...ALL, ingress: [{ endpoints: [{}] }] }],
    });
  });

  it('keeps labels and annotations, ignores status and server-set metadata, and needs no name or namespace in the body', () => {
    const input = cnp({
      metadata: {
        labels: { team: 'a' },
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"x":1}', note: 'free text: anything' },
        uid: '6f1e…',
        resourceVersion: '12345',
        generation: 3,
        creationTimestamp: '2026-01-01T00:00:00Z',
        managedFields: [{ manager: 'kubectl' }],
      },
      spec: { ...ALL, egress: [{}] },
      status: { conditions: [{ type: 'Valid', status: 'True' }], anything: { goes: true } },
    });
    expect(sanitizePolicy(input, CNP_TARGET)).toEqual({
      policy: { kind: 'CiliumNetworkPolicy', namespace: 'team-a', name: 'web', rules: [{ ...ALL, egress: [{}] }] },
      metadata: { labels: { team: 'a' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"x":1}', note: 'free text: anything' } },
    });
  });

  it('reads the same policy from YAML and JSON bodies', () => {
    const yaml = [
      'apiVersion: cilium.io/v2',
      'kind: CiliumNetworkPolicy',
      'metadata:',
      '  name: web',
      'spec:',
      '  endpointSelector:',
      '    matchLabels:',
      '      app: web',
      '  ingress:',
      '  - fromEndpoints:',
      '    - matchLabels:',
      '        app: client',
      '    toPorts:',
      '    - ports:',
      '      - port: "80"',
      '        protocol: TCP',
    ].join('\n');
    const json = JSON.stringify({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: 'web' },
      spec: {
        endpointSelector: { matchLabels: { app: 'web' } },
        ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }],
      },
    });
    const fromYaml = sanitizePolicy(parsePolicyBody(yaml, 'application/yaml; charset=utf-8'), CNP_TARGET);
    const fromJson = sanitizePolicy(parsePolicyBody(json, 'application/json'), CNP_TARGET);
    expect(fromYaml).toEqual(fromJson);
    expect(fromYaml.policy.rules).toEqual([
      {
        endpointSelector: { matchLabels: { app: 'web' } },
        ingress: [{ endpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: 80, protocol: 'TCP' }] }] }],
      },
    ]);
  });
});
