// One case per rule of POLICY.md: the subject's whole policy map (enforcement and every entry's
// key/value bytes) for a policy against the fixture identities (fixtures.ts).
import { describe, expect, it } from 'vitest';
import type { PolicyDocument, Rule } from '../../../../src/core/policy/rule.js';
import { ALLOW_ALL_EG, ALLOW_ALL_IN, ccnp, cnp, engineWith, entry, LOCALHOST, mapBytes, pod, sortedEntries, tcp } from './fixtures.js';

const SERVER = { matchLabels: { app: 'server' } };
const CLIENT = { matchLabels: { app: 'client' } };
const WORLD = 2;
const [CIDR_8, CIDR_16, CIDR_32] = [16777217, 16777218, 16777219];
const TCP = 6;
const UDP = 17;
const SCTP = 132;

const server = (rule: Omit<Rule, 'endpointSelector'>): PolicyDocument[] => [cnp('default', 'p1', { endpointSelector: SERVER, ...rule })];
const l3In = (id: number, verdict: 'allow' | 'deny' = 'allow') => entry(id, 'in', 0, 0, 0, verdict);
const l3Eg = (id: number, verdict: 'allow' | 'deny' = 'allow') => entry(id, 'eg', 0, 0, 0, verdict);
const tcp80In = (id: number, verdict: 'allow' | 'deny' = 'allow') => entry(id, 'in', TCP, 80, 24, verdict);

interface Case {
  name: string;
  policies: PolicyDocument[];
  subject?: number;
  identities?: Record<number, string[]>;
  enforced: [boolean, boolean];
  entries: string[];
}

const cases: Case[] = [
  { name: '§6 unselected endpoint: ingress and egress allow-all, localhost', policies: [], enforced: [false, false], entries: [ALLOW_ALL_IN, ALLOW_ALL_EG, LOCALHOST] },
  {
    name: '§4.1 `app` matches any source, scoped to the CNP namespace',
    policies: server({ ingress: [{ endpoints: [CLIENT], toPorts: [tcp(80)] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, tcp80In(1000), tcp80In(1003)],
  },
  {
    name: '§4.1 `k8s:app` matches the k8s source only',
    policies: server({ ingress: [{ endpoints: [{ matchLabels: { 'k8s:app': 'client' } }], toPorts: [tcp(80)] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, tcp80In(1000)],
  },
  {
    name: '§4.1 NotIn matches identities without the key',
    policies: server({ ingress: [{ endpoints: [{ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['client'] }] }] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, l3In(1001)],
  },
  {
    name: '§7.2 L3-only rule: protocol 0, P = 0',
    policies: server({ ingress: [{ endpoints: [CLIENT] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, l3In(1000), l3In(1003)],
  },
  {
    name: '§4.2 an explicit namespace is honoured',
    policies: server({ ingress: [{ endpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'other', app: 'client' } }] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, l3In(1002)],
  },
  {
    name: '§4.2 namespace Exists selects every namespace',
    policies: server({ ingress: [{ endpoints: [{ matchLabels: { app: 'client' }, matchExpressions: [{ key: 'io.kubernetes.pod.namespace', operator: 'Exists' }] }] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, l3In(1000), l3In(1002), l3In(1003)],
  },
  {
    name: '§4.2 `{}` in a CNP: pods of its namespace, the subject included, no reserved ids',
    policies: server({ ingress: [{ endpoints: [{}] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, l3In(1000), l3In(1001), l3In(1003)],
  },
  {
    name: '§4.2 `{}` in a CCNP: pods of every namespace',
    policies: [ccnp('c', { endpointSelector: SERVER, ingress: [{ endpoints: [{}] }] })],
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, l3In(1000), l3In(1001), l3In(1002), l3In(1003), l3In(1004)],
  },
  {
    name: '§4.2 namespace-label selectors escape the CNP namespace',
    policies: server({ ingress: [{ endpoints: [{ matchLabels: { 'k8s:io.cilium.k8s.namespace.labels.team': 'a' } }] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, l3In(1004)],
  },
  {
    name: '§4.2 a reserved key is not scoped: `reserved:host` selects the host',
    policies: server({ ingress: [{ endpoints: [{ matchLabels: { 'reserved:host': '' } }] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST],
  },
  {
    name: '§4.2 the CNP subject is pinned to its namespace',
    policies: [cnp('other', 'p1', { endpointSelector: CLIENT, ingress: [{ endpoints: [{}] }] })],
    subject: 1002,
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, l3In(1002), l3In(1004)],
  },
  {
    name: '§4.2 …and does not select the same labels elsewhere',
    policies: [cnp('other', 'p1', { endpointSelector: CLIENT, ingress: [{ endpoints: [{}] }] })],
    subject: 1000,
    enforced: [false, false],
    entries: [ALLOW_ALL_IN, ALLOW_ALL_EG, LOCALHOST],
  },
  {
    name: '§5 entity all is identity 0',
    policies: server({ ingress: [{ entities: ['all'] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_IN, ALLOW_ALL_EG, LOCALHOST],
  },
  {
    name: '§5 entity world: 2, 9, 10 and every CIDR identity',
    policies: server({ egress: [{ entities: ['world'] }] }),
    enforced: [false, true],
    entries: [ALLOW_ALL_IN, LOCALHOST, l3Eg(WORLD), l3Eg(9), l3Eg(10), l3Eg(CIDR_8), l3Eg(CIDR_16), l3Eg(CIDR_32)],
  },
  {
    name: '§5 entity cluster: reserved node-side identities and the cluster’s pods, not world',
    policies: server({ egress: [{ entities: ['cluster'] }] }),
    enforced: [false, true],
    entries: [ALLOW_ALL_IN, LOCALHOST, ...[1, 3, 4, 5, 6, 7, 8, 1000, 1001, 1002, 1003, 1004].map((id) => l3Eg(id))],
  },
  {
    name: '§5 remote-node also selects kube-apiserver',
    policies: server({ egress: [{ entities: ['remote-node'] }] }),
    enforced: [false, true],
    entries: [ALLOW_ALL_IN, LOCALHOST, l3Eg(6), l3Eg(7)],
  },
  {
    name: '§9 toCIDR 0.0.0.0/0: world and IPv4 CIDR identities, not 9 or 10',
    policies: server({ egress: [{ cidr: ['0.0.0.0/0'] }] }),
    enforced: [false, true],
    entries: [ALLOW_ALL_IN, LOCALHOST, l3Eg(WORLD), l3Eg(CIDR_8), l3Eg(CIDR_16), l3Eg(CIDR_32)],
  },
  {
    name: '§9 a CIDR selects the identities of prefixes inside it',
    policies: server({ egress: [{ cidr: ['10.1.0.0/16'] }] }),
    enforced: [false, true],
    entries: [ALLOW_ALL_IN, LOCALHOST, l3Eg(CIDR_16), l3Eg(CIDR_32)],
  },
  {
    name: '§9 CIDRSet except carves out the except and what lies inside it',
    policies: server({ egress: [{ cidrSet: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }] }] }),
    enforced: [false, true],
    entries: [ALLOW_ALL_IN, LOCALHOST, l3Eg(CIDR_8)],
  },
  {
    name: '§9 deny /16 + allow /32: both denied',
    policies: server({ egress: [{ cidr: ['10.1.2.3/32'] }], egressDeny: [{ cidr: ['10.1.0.0/16'] }] }),
    enforced: [false, true],
    entries: [ALLOW_ALL_IN, LOCALHOST, l3Eg(CIDR_16, 'deny'), l3Eg(CIDR_32, 'deny')],
  },
  {
    name: '§9 Allowception: allow 0/0, deny 10/8 except the /32',
    policies: server({ egress: [{ cidr: ['0.0.0.0/0'] }], egressDeny: [{ cidrSet: [{ cidr: '10.0.0.0/8', except: ['10.1.2.3/32'] }] }] }),
    enforced: [false, true],
    entries: [ALLOW_ALL_IN, LOCALHOST, l3Eg(WORLD), l3Eg(CIDR_8, 'deny'), l3Eg(CIDR_16, 'deny'), l3Eg(CIDR_32)],
  },
  {
    name: '§7.3 protocol ANY is TCP, UDP and SCTP',
    policies: server({ ingress: [{ endpoints: [{ matchLabels: { 'k8s:app': 'client' } }], toPorts: [{ ports: [{ port: 53, protocol: 'ANY' }] }] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, entry(1000, 'in', TCP, 53, 24, 'allow'), entry(1000, 'in', UDP, 53, 24, 'allow'), entry(1000, 'in', SCTP, 53, 24, 'allow')],
  },
  {
    name: '§7.3 toPorts without peers: identity 0; port 0 is every port of the protocol',
    policies: server({ ingress: [{ toPorts: [tcp(0)] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, entry(0, 'in', TCP, 0, 8, 'allow')],
  },
  {
    name: '§2 port range 8080-8083 is one /14 block',
    policies: server({ egress: [{ toPorts: [tcp(8080, 8083)] }] }),
    enforced: [false, true],
    entries: [ALLOW_ALL_IN, LOCALHOST, entry(0, 'eg', TCP, 8080, 22, 'allow')],
  },
  {
    name: '§2 port range 5-10 is 5/16, 6/15, 8/15, 10/16',
    policies: server({ egress: [{ toPorts: [tcp(5, 10)] }] }),
    enforced: [false, true],
    entries: [ALLOW_ALL_IN, LOCALHOST, entry(0, 'eg', TCP, 5, 24, 'allow'), entry(0, 'eg', TCP, 6, 23, 'allow'), entry(0, 'eg', TCP, 8, 23, 'allow'), entry(0, 'eg', TCP, 10, 24, 'allow')],
  },
  {
    name: '§2 endPort below port is the single port',
    policies: server({ ingress: [{ toPorts: [tcp(80, 70)] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, tcp80In(0)],
  },
  {
    name: '§7.3 a toPorts item without ports adds nothing but enforces',
    policies: server({ ingress: [{ endpoints: [CLIENT], toPorts: [{}] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST],
  },
  {
    name: '§7.1 an explicitly empty peer list selects nothing, even with toPorts',
    policies: server({ ingress: [{ endpoints: [], toPorts: [tcp(80)] }, { entities: [], toPorts: [tcp(81)] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST],
  },
  {
    name: '§7.5 an L3/L4 entry identical to the wildcard’s is elided',
    policies: server({ ingress: [{ toPorts: [tcp(80)] }, { endpoints: [CLIENT], toPorts: [tcp(80)] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, tcp80In(0)],
  },
  {
    name: '§7.5 no elision for port-0 filters: L3-only next to entity all',
    policies: server({ ingress: [{ entities: ['all'] }, { endpoints: [CLIENT] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_IN, ALLOW_ALL_EG, LOCALHOST, l3In(1000), l3In(1003)],
  },
  {
    name: '§8 L3 deny + L3/L4 allow: only the L3 deny',
    policies: server({ ingress: [{ endpoints: [CLIENT], toPorts: [tcp(80)] }], ingressDeny: [{ endpoints: [CLIENT] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, l3In(1000, 'deny'), l3In(1003, 'deny')],
  },
  {
    name: '§8 L3 allow + L4 deny: both stay',
    policies: server({ ingress: [{ endpoints: [CLIENT] }], ingressDeny: [{ endpoints: [CLIENT], toPorts: [tcp(80)] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, l3In(1000), l3In(1003), tcp80In(1000, 'deny'), tcp80In(1003, 'deny')],
  },
  {
    name: '§8 L4-only deny + L3 allow: both stay',
    policies: server({ ingress: [{ endpoints: [CLIENT] }], ingressDeny: [{ toPorts: [tcp(80)] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, l3In(1000), l3In(1003), tcp80In(0, 'deny')],
  },
  {
    name: '§8 a port-range allow next to a narrower deny keeps both',
    policies: server({ ingress: [{ endpoints: [{ matchLabels: { 'k8s:app': 'client' } }], toPorts: [tcp(64, 127)] }], ingressDeny: [{ endpoints: [{ matchLabels: { 'k8s:app': 'client' } }], toPorts: [tcp(80)] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, entry(1000, 'in', TCP, 64, 18, 'allow'), tcp80In(1000, 'deny')],
  },
  {
    name: '§6 a deny-only policy puts the direction in default deny',
    policies: server({ ingressDeny: [{ endpoints: [CLIENT] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, l3In(1000, 'deny'), l3In(1003, 'deny')],
  },
  {
    name: '§6 enableDefaultDeny false: allow-all plus the denies',
    policies: server({ ingressDeny: [{ endpoints: [CLIENT] }], enableDefaultDeny: { ingress: false } }),
    enforced: [true, false],
    entries: [ALLOW_ALL_IN, ALLOW_ALL_EG, LOCALHOST, l3In(1000, 'deny'), l3In(1003, 'deny')],
  },
  {
    name: '§6 any default-deny rule wins over a default-allow one',
    policies: [...server({ ingressDeny: [{ endpoints: [CLIENT] }], enableDefaultDeny: { ingress: false } }), cnp('default', 'p2', { endpointSelector: SERVER, ingress: [{ toPorts: [tcp(80)] }] })],
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, l3In(1000, 'deny'), l3In(1003, 'deny'), tcp80In(0)],
  },
  {
    name: '§6 an identity-0 deny keeps the localhost entry',
    policies: server({ ingressDeny: [{ entities: ['all'] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, LOCALHOST, l3In(0, 'deny')],
  },
  {
    name: '§6 a host deny suppresses the localhost entry',
    policies: server({ ingressDeny: [{ entities: ['host'] }] }),
    enforced: [true, false],
    entries: [ALLOW_ALL_EG, l3In(1, 'deny')],
  },
  {
    name: '§7 egress mirrors ingress',
    policies: server({ egress: [{ endpoints: [CLIENT], toPorts: [tcp(80)] }], egressDeny: [{ entities: ['world'], toPorts: [{ ports: [{ port: 53, protocol: 'UDP' }] }] }] }),
    enforced: [false, true],
    entries: [
      ALLOW_ALL_IN,
      LOCALHOST,
      entry(1000, 'eg', TCP, 80, 24, 'allow'),
      entry(1003, 'eg', TCP, 80, 24, 'allow'),
      ...[WORLD, 9, 10, CIDR_8, CIDR_16, CIDR_32].map((id) => entry(id, 'eg', UDP, 53, 24, 'deny')),
    ],
  },
  {
    name: '§6 Cilium treats any label keyed `init` as an initialising endpoint: default deny both ways',
    policies: [],
    subject: 1005,
    identities: { 1005: pod('default', 'k8s:init=yes') },
    enforced: [true, true],
    entries: [LOCALHOST],
  },
  {
    name: '§6 …and any label keyed `host` as the host: never enforced',
    policies: server({ ingress: [{ endpoints: [CLIENT] }] }),
    subject: 1006,
    identities: { 1006: pod('default', 'k8s:app=server', 'k8s:host=x') },
    enforced: [false, false],
    entries: [ALLOW_ALL_IN, ALLOW_ALL_EG, LOCALHOST],
  },
];

describe('policy semantics (POLICY.md)', () => {
  it.each(cases)('$name', ({ policies, subject, identities, enforced, entries }) => {
    const engine = engineWith(policies, identities ? { ...identities } : undefined);
    expect(mapBytes(engine, subject ?? 1001)).toEqual({ ingressEnforced: enforced[0], egressEnforced: enforced[1], entries: sortedEntries(...entries) });
  });

  it('names the policies behind each entry; a deny on the same selector carries the allow’s policy too', () => {
    const engine = engineWith([
      cnp('default', 'allow', { endpointSelector: SERVER, ingress: [{ endpoints: [CLIENT], toPorts: [tcp(80)] }] }),
      cnp('default', 'deny', { endpointSelector: SERVER, ingressDeny: [{ endpoints: [CLIENT], toPorts: [tcp(80)] }] }),
      ccnp('cw', { endpointSelector: SERVER, ingress: [{ entities: ['host'] }] }),
    ]);
    const policies = Object.fromEntries(engine.policyOf(1001)!.entries.map((e) => [`${e.identity}/${e.protocol}/${e.port}/${e.verdict}`, e.policies]));
    expect(policies).toEqual({ '0/0/0/allow': [], '1/0/0/allow': ['cw'], '1000/6/80/deny': ['default/allow', 'default/deny'], '1003/6/80/deny': ['default/allow', 'default/deny'] });
  });

  it('reserved and CIDR identities have no policy of their own', () => {
    const engine = engineWith([ccnp('all', { endpointSelector: {}, ingress: [{ entities: ['all'] }] })]);
    expect([1, 2, 7, 16777217].map((id) => engine.policyOf(id))).toEqual([undefined, undefined, undefined, undefined]);
  });
});
