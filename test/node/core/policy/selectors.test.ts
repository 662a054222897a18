// Selectors as Cilium evaluates them: extended keys, label sources, cidr containment, the stable
// selector key, peer scoping, and the labels/prefixes of CIDR identities.
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../../../src/core/policy/compile.js';
import { cidrIdentityLabels, cidrSelectors, cidrSetSelectors, peerEndpointSelector } from '../../../../src/core/policy/peers.js';
import type { EndpointSelector } from '../../../../src/core/policy/rule.js';
import { compileSelector, extendedKey, extendSelector, selectorKey, selectorMatches, toMatchLabels } from '../../../../src/core/policy/selector.js';
import { ccnp, cnp, CLUSTER } from './fixtures.js';

describe('extended keys (GetExtendedKeyFrom)', () => {
  it.each([
    ['app', 'any.app'],
    ['k8s:app', 'k8s.app'],
    ['io.kubernetes.pod.namespace', 'any.io.kubernetes.pod.namespace'],
    ['reserved:host', 'reserved.host'],
    ['$host', 'reserved.host'],
    ['reserved.host', 'reserved.host'],
    ['k8s.app', 'any.k8s.app'],
    [':app', 'any.app'],
    ['container:app', 'container.app'],
  ])('%s → %s', (user, ext) => {
    expect(extendedKey(user)).toBe(ext);
  });
});

const matches = (sel: EndpointSelector, labels: string[]) => selectorMatches(compileSelector(extendSelector(sel)), toMatchLabels(labels));

describe('matching an identity’s labels', () => {
  it.each<{ name: string; sel: EndpointSelector; labels: string[]; want: boolean }>([
    { name: 'any source matches k8s', sel: { matchLabels: { app: 'a' } }, labels: ['k8s:app=a'], want: true },
    { name: 'any source matches container', sel: { matchLabels: { app: 'a' } }, labels: ['container:app=a'], want: true },
    { name: 'k8s source does not match container', sel: { matchLabels: { 'k8s:app': 'a' } }, labels: ['container:app=a'], want: false },
    { name: 'unspec in a selector reads as any', sel: { matchLabels: { 'unspec:app': 'a' } }, labels: ['k8s:app=a'], want: true },
    { name: 'k8s source does not match an unspec label', sel: { matchLabels: { 'k8s:app': 'a' } }, labels: ['app=a'], want: false },
    { name: 'a dotted key without source is a literal key', sel: { matchLabels: { 'k8s.app': 'a' } }, labels: ['k8s:app=a'], want: false },
    { name: 'value must be equal', sel: { matchLabels: { app: 'a' } }, labels: ['k8s:app=b'], want: false },
    { name: 'In', sel: { matchExpressions: [{ key: 'app', operator: 'In', values: ['a', 'b'] }] }, labels: ['k8s:app=b'], want: true },
    { name: 'NotIn without the key', sel: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['a'] }] }, labels: ['k8s:x=y'], want: true },
    { name: 'NotIn with the value', sel: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['a'] }] }, labels: ['k8s:app=a'], want: false },
    { name: 'Exists', sel: { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels: ['k8s:app='], want: true },
    { name: 'DoesNotExist', sel: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels: ['k8s:app=a'], want: false },
    { name: 'requirements are ANDed', sel: { matchLabels: { app: 'a' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels: ['k8s:app=a'], want: false },
    { name: 'reserved label', sel: { matchLabels: { 'reserved:host': '' } }, labels: ['reserved:host'], want: true },
    { name: 'cidr: a broader prefix contains a narrower identity', sel: { matchLabels: { 'cidr:10.0.0.0/8': '' } }, labels: ['cidr:10.1.2.0/24', 'reserved:world'], want: true },
    { name: 'cidr: a narrower prefix does not select a broader identity', sel: { matchLabels: { 'cidr:10.1.2.0/24': '' } }, labels: ['cidr:10.0.0.0/8', 'reserved:world'], want: false },
    { name: 'cidr: IPv6 keys use dashes', sel: { matchLabels: { 'cidr:fd00--/8': '' } }, labels: ['cidr:fd00--1/128', 'reserved:world'], want: true },
    { name: 'cidr: families never contain each other', sel: { matchLabels: { 'cidr:0.0.0.0/0': '' } }, labels: ['cidr:fd00--1/128', 'reserved:world'], want: false },
  ])('$name', ({ sel, labels, want }) => {
    expect(matches(sel, labels)).toBe(want);
  });
});

describe('selector key (STABLE FORMAT)', () => {
  it('is a golden string: match labels sorted, expressions in written order', () => {
    const sel = extendSelector({ matchLabels: { z: '1', 'k8s:a': '2' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }] });
    expect(selectorKey(sel)).toBe('{"matchLabels":{"any.z":"1","k8s.a":"2"},"matchExpressions":[["any.tier","In",["b","a"]]]}');
  });

  it('is shared by selectors Cilium caches once (app and any:app) and not by reordered expressions', () => {
    expect(selectorKey(extendSelector({ matchLabels: { app: 'a' } }))).toBe(selectorKey(extendSelector({ matchLabels: { 'any:app': 'a' } })));
    const e1 = { key: 'a', operator: 'Exists' as const };
    const e2 = { key: 'b', operator: 'Exists' as const };
    expect(selectorKey(extendSelector({ matchExpressions: [e1, e2] }))).not.toBe(selectorKey(extendSelector({ matchExpressions: [e2, e1] })));
  });
});

describe('peer scoping (getEndpointSelector)', () => {
  const scoped = (sel: EndpointSelector, ns: string | null, init = false) => selectorKey(peerEndpointSelector(extendSelector(sel), ns, init));
  it.each<{ name: string; sel: EndpointSelector; ns: string | null; init?: boolean; want: EndpointSelector }>([
    { name: 'CNP adds its namespace', sel: {}, ns: 'n', want: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'n' } } },
    { name: 'CCNP requires a namespace', sel: {}, ns: null, want: { matchExpressions: [{ key: 'k8s:io.kubernetes.pod.namespace', operator: 'Exists' }] } },
    { name: 'CCNP with an init subject adds nothing', sel: {}, ns: null, init: true, want: {} },
    { name: 'a reserved key is left alone', sel: { matchLabels: { 'reserved:host': '' } }, ns: 'n', want: { matchLabels: { 'reserved:host': '' } } },
    { name: 'an any-source namespace is honoured', sel: { matchLabels: { 'io.kubernetes.pod.namespace': 'x' } }, ns: 'n', want: { matchLabels: { 'io.kubernetes.pod.namespace': 'x' } } },
    { name: 'namespace labels escape the CNP namespace', sel: { matchLabels: { 'k8s:io.cilium.k8s.namespace.labels.team': 'a' } }, ns: 'n', want: { matchLabels: { 'k8s:io.cilium.k8s.namespace.labels.team': 'a' } } },
  ])('$name', ({ sel, ns, init, want }) => {
    expect(scoped(sel, ns, init)).toBe(selectorKey(extendSelector(want)));
  });
});

describe('CIDR peers and identities', () => {
  it('fromCIDR: one label selector per CIDR, reserved:world for 0.0.0.0/0 only', () => {
    expect(cidrSelectors(['10.0.0.1', '10.0.0.1/8', '0.0.0.0/0', '::/0']).map(selectorKey)).toEqual([
      '{"matchLabels":{"cidr.10.0.0.1/32":""},"matchExpressions":[]}',
      '{"matchLabels":{"cidr.10.0.0.0/8":""},"matchExpressions":[]}',
      '{"matchLabels":{"cidr.0.0.0.0/0":""},"matchExpressions":[]}',
      '{"matchLabels":{"cidr.0--0/0":""},"matchExpressions":[]}',
      '{"matchLabels":{"reserved.world":""},"matchExpressions":[]}',
    ]);
  });

  it('fromCIDRSet: Exists and DoesNotExist; a /0 is duplicated for reserved:world', () => {
    expect(cidrSetSelectors([{ cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] }]).map(selectorKey)).toEqual([
      '{"matchLabels":{},"matchExpressions":[["cidr.0.0.0.0/0","Exists",[]],["cidr.10.0.0.0/8","DoesNotExist",[]]]}',
      '{"matchLabels":{},"matchExpressions":[["reserved.world","Exists",[]],["cidr.10.0.0.0/8","DoesNotExist",[]]]}',
    ]);
  });

  it.each([
    ['10.0.0.0/8', ['cidr:10.0.0.0/8', 'reserved:world']],
    ['fd00::/64', ['cidr:fd00--0/64', 'reserved:world']],
    ['::1/128', ['cidr:0--1/128', 'reserved:world']],
    ['0.0.0.0/0', ['reserved:world']],
  ])('identity labels of %s', (prefix, labels) => {
    expect(cidrIdentityLabels(prefix)).toEqual(labels);
  });

  it('a policy needs an identity for every prefix it names, excepts included, masked', () => {
    const doc = cnp('n', 'p', {
      endpointSelector: {},
      egress: [{ cidr: ['10.1.2.3', '10.9.9.9/8'] }],
      ingressDeny: [{ cidrSet: [{ cidr: '0.0.0.0/0', except: ['192.168.0.0/16'] }] }],
    });
    expect(compilePolicy(doc, CLUSTER).prefixes).toEqual(['0.0.0.0/0', '10.0.0.0/8', '10.1.2.3/32', '192.168.0.0/16']);
    expect(compilePolicy(ccnp('c', { endpointSelector: {}, ingress: [{ entities: ['world'] }] }), CLUSTER).prefixes).toEqual([]);
  });
});
