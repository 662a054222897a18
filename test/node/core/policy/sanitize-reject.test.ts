// Every rejection: its code and its exact message, path first, in Cilium's (or kube-apiserver's) words.
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../../src/core/errors.js';
import { sanitizePolicy, type PolicyTarget } from '../../../../src/core/policy/sanitize.js';
import { CCNP_TARGET, CNP_TARGET, ccnp, cnp, egressOnly, ingressOnly, ports } from './policy-fixtures.js';

const ALL = { endpointSelector: {} };
const PORT_PATTERN =
  '^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})|([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$';
const QUALIFIED_NAME_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const P0 = 'spec.ingress[0].toPorts[0].ports[0]';

function rejection(input: unknown, target: PolicyTarget = CNP_TARGET): { code: string; message: string } {
  try {
    sanitizePolicy(input, target);
  } catch (e) {
    if (e instanceof DomainError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('accepted');
}

describe('sanitizePolicy: invalid-policy (Cilium refuses these too)', () => {
  it.each<{ name: string; input: unknown; target?: PolicyTarget; message: string }>([
    // Object envelope and metadata (kube-apiserver).
    { name: 'not an object', input: ['x'], message: 'the policy must be an object, not a list' },
    { name: 'unknown top-level field', input: cnp({ spek: {} }), message: 'spek: unknown field "spek"' },
    { name: 'no apiVersion', input: { kind: 'CiliumNetworkPolicy', spec: {} }, message: 'apiVersion: Required value' },
    {
      name: 'wrong apiVersion',
      input: cnp({ apiVersion: 'cilium.io/v1' }),
      message: 'apiVersion: Unsupported value: "cilium.io/v1": supported values: "cilium.io/v2"',
    },
    {
      name: 'CCNP body on the CNP route',
      input: ccnp({ spec: {} }),
      message: 'kind: Unsupported value: "CiliumClusterwideNetworkPolicy": supported values: "CiliumNetworkPolicy"',
    },
    {
      name: 'name differs from the path',
      input: cnp({ metadata: { name: 'other' } }),
      message: 'metadata.name: Invalid value: "other": the name of the object (other) does not match the name on the URL (web)',
    },
    {
      name: 'namespace differs from the path',
      input: cnp({ metadata: { namespace: 'team-b' } }),
      message: 'metadata.namespace: Invalid value: "team-b": the namespace of the provided object does not match the namespace sent on the request',
    },
    {
      name: 'CCNP with a namespace',
      input: ccnp({ metadata: { name: 'global', namespace: 'team-a' } }),
      target: CCNP_TARGET,
      message: 'metadata.namespace: Invalid value: "team-a": a CiliumClusterwideNetworkPolicy is cluster-scoped and has no namespace',
    },
    {
      name: 'path name not a DNS subdomain',
      input: cnp({ metadata: {} }),
      target: { ...CNP_TARGET, name: 'Web' },
      message:
        "metadata.name: Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    },
    {
      name: 'path namespace with a dot',
      input: cnp({ metadata: {} }),
      target: { ...CNP_TARGET, namespace: 'team.a' },
      message: 'metadata.namespace: Invalid value: "team.a": must not contain dots',
    },
    { name: 'unknown metadata field', input: cnp({ metadata: { nmae: 'web' } }), message: 'metadata.nmae: unknown field "metadata.nmae"' },
    {
      name: 'label value not a string',
      input: cnp({ metadata: { labels: { on: true } } }),
      message: 'metadata.labels.on: Invalid value: "boolean": metadata.labels.on in body must be of type string: "boolean"',
    },
    { name: 'bad label key', input: cnp({ metadata: { labels: { 'a b': 'x' } } }), message: `metadata.labels: Invalid value: "a b": ${QUALIFIED_NAME_MSG}` },
    {
      name: 'annotation key that is not a qualified name',
      input: cnp({ metadata: { annotations: { __proto__x: 'v' } } }),
      message: `metadata.annotations: Invalid value: "__proto__x": ${QUALIFIED_NAME_MSG}`,
    },
    // spec / specs presence (Cilium's parser).
    { name: 'neither spec nor specs', input: cnp({}), message: 'Invalid CiliumNetworkPolicy spec(s): empty policy' },
    { name: 'spec: null is no spec', input: cnp({ spec: null }), message: 'Invalid CiliumNetworkPolicy spec(s): empty policy' },
    {
      name: 'CCNP with neither',
      input: ccnp({}),
      target: CCNP_TARGET,
      message: 'Invalid CiliumClusterwideNetworkPolicy spec(s): empty policy',
    },
    // Strict decoding: fields the CRD does not declare.
    { name: 'unknown rule field', input: cnp({ spec: { ...ALL, ingres: [{}] } }), message: 'spec.ingres: unknown field "spec.ingres"' },
    {
      name: 'unknown field deep in specs',
      input: cnp({ specs: [{ ...ALL, egress: [{ toPorts: [{ ports: [{ port: '80', proto: 'TCP' }] }] }] }] }),
      message: 'specs[0].egress[0].toPorts[0].ports[0].proto: unknown field "specs[0].egress[0].toPorts[0].ports[0].proto"',
    },
    {
      name: 'to* peer in an ingress section',
      input: ingressOnly({ toEndpoints: [{}] }),
      message: 'spec.ingress[0].toEndpoints: unknown field "spec.ingress[0].toEndpoints"',
    },
    {
      name: 'L7 rules in a deny section',
      input: cnp({ spec: { ...ALL, ingressDeny: [{ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{}] } }] }] } }),
      message: 'spec.ingressDeny[0].toPorts[0].rules: unknown field "spec.ingressDeny[0].toPorts[0].rules"',
    },
    // The CRD schema.
    { name: 'spec not an object', input: cnp({ spec: 'x' }), message: 'spec: Invalid value: "string": spec in body must be of type object: "string"' },
    { name: 'no direction at all', input: cnp({ spec: { ...ALL } }), message: 'spec: rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny' },
    { name: 'no selector', input: cnp({ spec: { egress: [{}] } }), message: 'spec: rule must have one of EndpointSelector or NodeSelector' },
    {
      name: 'both selectors',
      input: cnp({ specs: [{ ...ALL, nodeSelector: {}, egress: [{}] }] }),
      message: 'specs[0]: rule cannot have both EndpointSelector and NodeSelector',
    },
    { name: 'port missing', input: ports({ protocol: 'TCP' }), message: `${P0}.port: Required value` },
    {
      name: 'port as a YAML/JSON number',
      input: ports({ port: 80 }),
      message: `${P0}.port: Invalid value: "integer": ${P0}.port in body must be of type string: "integer"`,
    },
    { name: 'empty port', input: ports({ port: '' }), message: `${P0}.port: Invalid value: "": ${P0}.port in body should match '${PORT_PATTERN}'` },
    { name: 'signed port', input: ports({ port: '+80' }), message: `${P0}.port: Invalid value: "+80": ${P0}.port in body should match '${PORT_PATTERN}'` },
    {
      name: 'lower-case protocol (the schema is upper case only)',
      input: ports({ port: '80', protocol: 'tcp' }),
      message: `${P0}.protocol: Unsupported value: "tcp": supported values: "TCP", "UDP", "SCTP", "ANY"`,
    },
    {
      name: 'ICMP protocol',
      input: ports({ port: '80', protocol: 'ICMP' }),
      message: `${P0}.protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP", "ANY"`,
    },
    {
      name: 'endPort above 65535',
      input: ports({ port: '80', endPort: 65536 }),
      message: `${P0}.endPort: Invalid value: 65536: ${P0}.endPort in body should be less than or equal to 65535`,
    },
    {
      name: 'negative endPort',
      input: ports({ port: '80', endPort: -1 }),
      message: `${P0}.endPort: Invalid value: -1: ${P0}.endPort in body should be greater than or equal to 0`,
    },
    {
      name: 'endPort as a string',
      input: ports({ port: '80', endPort: '90' }),
      message: `${P0}.endPort: Invalid value: "string": ${P0}.endPort in body must be of type integer: "string"`,
    },
    {
      name: 'fractional endPort',
      input: ports({ port: '80', endPort: 90.5 }),
      message: `${P0}.endPort: Invalid value: "number": ${P0}.endPort in body must be of type integer: "number"`,
    },
    {
      name: '41 ports in one allow item',
      input: ports(...Array.from({ length: 41 }, (_, i) => ({ port: String(1000 + i) }))),
      message: 'spec.ingress[0].toPorts[0].ports: Too many: 41: must have at most 40 items',
    },
    {
      name: 'entity outside the CRD enum',
      input: egressOnly({ toEntities: ['world-ipv4'] }),
      message:
        'spec.egress[0].toEntities[0]: Unsupported value: "world-ipv4": supported values: "all", "world", "cluster", "host", "init", "ingress", "unmanaged", "remote-node", "health", "none", "kube-apiserver"',
    },
    {
      name: 'neither IP nor prefix in toCIDR',
      input: egressOnly({ toCIDR: ['10.0.0.256'] }),
      message: 'spec.egress[0].toCIDR[0]: Invalid value: "10.0.0.256": spec.egress[0].toCIDR[0] in body must be of type cidr: "10.0.0.256"',
    },
    {
      name: 'CIDRSet without a length',
      input: ingressOnly({ fromCIDRSet: [{ cidr: '10.0.0.1' }] }),
      message: 'spec.ingress[0].fromCIDRSet[0].cidr: Invalid value: "10.0.0.1": spec.ingress[0].fromCIDRSet[0].cidr in body must be of type cidr: "10.0.0.1"',
    },
    {
      name: 'prefix length out of range',
      input: ingressOnly({ fromCIDR: ['10.0.0.0/33'] }),
      message: 'spec.ingress[0].fromCIDR[0]: Invalid value: "10.0.0.0/33": spec.ingress[0].fromCIDR[0] in body must be of type cidr: "10.0.0.0/33"',
    },
    {
      name: 'octet with a leading zero',
      input: ingressOnly({ fromCIDR: ['010.0.0.0/8'] }),
      message: 'spec.ingress[0].fromCIDR[0]: Invalid value: "010.0.0.0/8": spec.ingress[0].fromCIDR[0] in body must be of type cidr: "010.0.0.0/8"',
    },
    {
      name: 'CIDRSet with nothing to select',
      input: ingressOnly({ fromCIDRSet: [{ except: ['10.0.0.0/8'] }] }),
      message: 'spec.ingress[0].fromCIDRSet[0]: one of cidr, cidrGroupRef, or cidrGroupSelector is required',
    },
    {
      name: 'CIDRSet with cidr and cidrGroupRef',
      input: ingressOnly({ fromCIDRSet: [{ cidr: '10.0.0.0/8', cidrGroupRef: 'office' }] }),
      message: 'spec.ingress[0].fromCIDRSet[0]: more than one of cidr, cidrGroupRef, or cidrGroupSelector may not be set',
    },
    {
      name: 'operator outside the enum',
      input: ingressOnly({ fromEndpoints: [{ matchExpressions: [{ key: 'app', operator: 'Foo', values: ['x'] }] }] }),
      message:
        'spec.ingress[0].fromEndpoints[0].matchExpressions[0].operator: Unsupported value: "Foo": supported values: "In", "NotIn", "Exists", "DoesNotExist"',
    },
    {
      name: 'expression without a key',
      input: ingressOnly({ fromEndpoints: [{ matchExpressions: [{ operator: 'Exists' }] }] }),
      message: 'spec.ingress[0].fromEndpoints[0].matchExpressions[0].key: Required value',
    },
    {
      name: 'matchLabels value too long',
      input: cnp({ spec: { endpointSelector: { matchLabels: { app: 'x'.repeat(64) } }, egress: [{}] } }),
      message: 'spec.endpointSelector.matchLabels.app: Too long: may not be more than 63 bytes',
    },
    {
      name: 'matchLabels value with a space',
      input: cnp({ spec: { endpointSelector: { matchLabels: { app: 'a b' } }, egress: [{}] } }),
      message:
        "spec.endpointSelector.matchLabels.app: Invalid value: \"a b\": spec.endpointSelector.matchLabels.app in body should match '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$'",
    },
    {
      name: 'YAML 1.1 boolean as a label value',
      input: cnp({ spec: { endpointSelector: { matchLabels: { enabled: true } }, egress: [{}] } }),
      message: 'spec.endpointSelector.matchLabels.enabled: Invalid value: "boolean": spec.endpointSelector.matchLabels.enabled in body must be of type string: "boolean"',
    },
    {
      name: 'enableDefaultDeny not a boolean',
      input: cnp({ spec: { ...ALL, egress: [{}], enableDefaultDeny: { egress: 'false' } } }),
      message: 'spec.enableDefaultDeny.egress: Invalid value: "string": spec.enableDefaultDeny.egress in body must be of type boolean: "string"',
    },
    {
      name: 'invalid content inside an unsupported field is still invalid',
      input: egressOnly({ toFQDNs: [{ matchName: 'a..b' }] }),
      message: "spec.egress[0].toFQDNs[0].matchName: Invalid value: \"a..b\": spec.egress[0].toFQDNs[0].matchName in body should match '^([-a-zA-Z0-9_]+[.]?)+$'",
    },
    // Cilium's sanitizer (pkg/policy/api/rule_validation.go).
    { name: 'all directions empty', input: cnp({ spec: { ...ALL, ingress: [], egressDeny: [] } }), message: 'spec: rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny' },
    {
      name: 'two ingress peer kinds, named in a fixed order',
      input: ingressOnly({ fromCIDR: ['10.0.0.0/8'], fromEndpoints: [{}] }),
      message: 'spec.ingress[0]: combining FromEndpoints and FromCIDR is not supported yet',
    },
    {
      name: 'entities and CIDRSet in a deny section',
      input: cnp({ spec: { ...ALL, ingressDeny: [{ fromEntities: ['world'], fromCIDRSet: [{ cidr: '10.0.0.0/8' }] }] } }),
      message: 'spec.ingressDeny[0]: combining FromCIDRSet and FromEntities is not supported yet',
    },
    {
      name: 'two egress peer kinds',
      input: egressOnly({ toEntities: ['world'], toCIDR: ['10.0.0.0/8'], toEndpoints: [{}] }),
      message: 'spec.egress[0]: combining ToCIDR and ToEndpoints is not supported yet',
    },
    {
      name: 'a supported and an unsupported peer kind together',
      input: egressOnly({ toEndpoints: [{}], toFQDNs: [{ matchName: 'example.com' }] }),
      message: 'spec.egress[0]: combining ToEndpoints and ToFQDNs is not supported yet',
    },
    {
      name: 'port out of range',
      input: ports({ port: '70000' }),
      message: `${P0}.port: unable to parse port: strconv.ParseUint: parsing "70000": value out of range`,
    },
    {
      name: 'port with a leading zero and an 8 (not octal)',
      input: ports({ port: '080' }),
      message: `${P0}.port: unable to parse port: strconv.ParseUint: parsing "080": invalid syntax`,
    },
    {
      name: 'port with a trailing space',
      input: ports({ port: '80 ' }),
      message: `${P0}.port: unable to parse port: strconv.ParseUint: parsing "80 ": invalid syntax`,
    },
    {
      name: 'too many ports in a deny item (no schema limit there)',
      input: cnp({ spec: { ...ALL, egressDeny: [{ toPorts: [{ ports: Array.from({ length: 41 }, (_, i) => ({ port: String(i + 1) })) }] }] } }),
      message: 'spec.egressDeny[0].toPorts[0].ports: too many ports, the max is 40',
    },
    {
      name: 'except outside the allowed prefix',
      input: egressOnly({ toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] }] }),
      message: 'spec.egress[0].toCIDRSet[0].except[0]: allow CIDR prefix 10.0.0.0/8 does not contain exclude CIDR prefix 192.168.0.0/16',
    },
    {
      name: 'except of the other family',
      input: egressOnly({ toCIDRSet: [{ cidr: '0.0.0.0/0', except: ['fd00::/8'] }] }),
      message: 'spec.egress[0].toCIDRSet[0].except[0]: allow CIDR prefix 0.0.0.0/0 does not contain exclude CIDR prefix fd00::/8',
    },
    {
      name: 'prefix length with a leading zero (net.ParseCIDR takes it, netip does not)',
      input: egressOnly({ toCIDR: ['10.0.0.0/08'] }),
      message: 'spec.egress[0].toCIDR[0]: unable to parse CIDR: ParseAddr("10.0.0.0/08"): unexpected character (at "/08")',
    },
    {
      name: 'IPv6 prefix length with a leading zero',
      input: egressOnly({ toCIDR: ['fd00::/08'] }),
      message:
        'spec.egress[0].toCIDR[0]: unable to parse CIDR: ParseAddr("fd00::/08"): each colon-separated field must have at least one digit (at "/08")',
    },
    {
      name: 'except prefix length with a leading zero',
      input: egressOnly({ toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/016'] }] }),
      message: 'spec.egress[0].toCIDRSet[0].except[0]: netip.ParsePrefix("10.1.0.0/016"): bad bits after slash: "016"',
    },
    {
      name: 'CIDRSet prefix length with a leading zero',
      input: egressOnly({ toCIDRSet: [{ cidr: '10.0.0.0/08' }] }),
      message: 'spec.egress[0].toCIDRSet[0].cidr: unable to parse CIDRRule "10.0.0.0/08": netip.ParsePrefix("10.0.0.0/08"): bad bits after slash: "08"',
    },
    {
      name: 'In without values',
      input: cnp({ spec: { endpointSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] }, egress: [{}] } }),
      message:
        "spec.endpointSelector: invalid label selector: matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    },
    {
      name: 'Exists with values',
      input: ingressOnly({ fromEndpoints: [{ matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] }] }),
      message:
        "spec.ingress[0].fromEndpoints[0]: invalid label selector: matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
    },
    {
      name: 'selector key that is not a qualified name, shown source-extended as Cilium validates it',
      input: egressOnly({ toEndpoints: [{ matchLabels: { 'bad key': 'x' } }] }),
      message: `spec.egress[0].toEndpoints[0]: invalid label selector: matchLabels: Invalid value: "any.bad key": ${QUALIFIED_NAME_MSG}`,
    },
    {
      name: 'selector key 60 characters long: 64 with the any. source',
      input: egressOnly({ toEndpoints: [{ matchLabels: { ['k'.repeat(60)]: 'x' } }] }),
      message: `spec.egress[0].toEndpoints[0]: invalid label selector: matchLabels: Invalid value: "any.${'k'.repeat(60)}": name part must be no more than 63 characters`,
    },
    {
      name: 'several selector problems, aggregated',
      input: egressOnly({ toEndpoints: [{ matchExpressions: [{ key: 'a', operator: 'NotIn' }, { key: 'b', operator: 'In', values: ['x y'] }] }] }),
      message:
        "spec.egress[0].toEndpoints[0]: invalid label selector: [matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn', matchExpressions[1].values[0]: Invalid value: \"x y\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')]",
    },
    {
      name: 'CNP spec with a nodeSelector',
      input: cnp({ spec: { nodeSelector: {}, ingress: [{}] } }),
      message: 'spec.nodeSelector: rule cannot have NodeSelector',
    },
    {
      name: 'DNS rules on ingress',
      input: ingressOnly({ toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }], rules: { dns: [{ matchName: 'a.com' }] } }] }),
      message: 'spec.ingress[0]: L7 protocol DNS is not supported on ingress yet',
    },
    {
      name: 'HTTP rules on a UDP port',
      input: ingressOnly({ toPorts: [{ ports: [{ port: '80', protocol: 'UDP' }], rules: { http: [{ method: 'GET' }] } }] }),
      message: 'spec.ingress[0].toPorts[0].ports[0].protocol: L7 rules can only apply to TCP (not UDP) except for DNS rules',
    },
    {
      name: 'HTTP rules on port 0',
      input: ingressOnly({ toPorts: [{ ports: [{ port: '0', protocol: 'TCP' }], rules: { http: [{}] } }] }),
      message: 'spec.ingress[0].toPorts[0].rules: L7 rules can not be used when a port is 0',
    },
    {
      name: 'ICMPs beside toPorts',
      input: egressOnly({ icmps: [{ fields: [{ type: 8 }] }], toPorts: [{ ports: [{ port: '80' }] }] }),
      message: 'spec.egress[0]: the ICMPs block may only be present without ToPorts. Define a separate rule to use ToPorts',
    },
    // idplane's own refusals of forms Cilium reads surprisingly.
    {
      name: 'octal-looking port (Cilium reads 010 as 8)',
      input: ports({ port: '010' }),
      message: `${P0}.port: Invalid value: "010": idplane accepts only decimal port numbers 0-65535 without leading zeros`,
    },
    {
      name: 'port 00',
      input: ports({ port: '00' }),
      message: `${P0}.port: Invalid value: "00": idplane accepts only decimal port numbers 0-65535 without leading zeros`,
    },
    {
      name: 'port with digit separators (Cilium reads 0x_50 as 80)',
      input: ports({ port: '0x_50' }),
      message: `${P0}.port: Invalid value: "0x_50": idplane accepts only decimal port numbers 0-65535 without leading zeros`,
    },
    {
      name: 'port "0" with an endPort',
      input: ports({ port: '0', endPort: 100, protocol: 'TCP' }),
      message: `${P0}.endPort: Invalid value: 100: an endPort cannot follow port "0", which already means all ports`,
    },
  ])('$name', ({ input, target, message }) => {
    expect(rejection(input, target)).toEqual({ code: 'invalid-policy', message });
  });
});

describe('sanitizePolicy: unsupported-policy-field (Cilium accepts these, idplane does not implement them)', () => {
  it.each<{ name: string; input: unknown; target?: PolicyTarget; message: string }>([
    { name: 'L7 HTTP rules', input: ingressOnly({ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET' }] } }] }), message: 'spec.ingress[0].toPorts[0].rules: is not supported by idplane' },
    { name: 'DNS rules on egress', input: egressOnly({ toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchPattern: '*' }] } }] }), message: 'spec.egress[0].toPorts[0].rules: is not supported by idplane' },
    { name: 'listener', input: egressOnly({ toPorts: [{ ports: [{ port: '80' }], listener: { envoyConfig: { name: 'e' }, name: 'l' } }] }), message: 'spec.egress[0].toPorts[0].listener: is not supported by idplane' },
    { name: 'terminatingTLS', input: egressOnly({ toPorts: [{ terminatingTLS: { secret: { name: 's' } } }] }), message: 'spec.egress[0].toPorts[0].terminatingTLS: is not supported by idplane' },
    { name: 'originatingTLS', input: egressOnly({ toPorts: [{ originatingTLS: { secret: { name: 's' } } }] }), message: 'spec.egress[0].toPorts[0].originatingTLS: is not supported by idplane' },
    { name: 'serverNames', input: egressOnly({ toPorts: [{ ports: [{ port: '443' }], serverNames: ['example.com'] }] }), message: 'spec.egress[0].toPorts[0].serverNames: is not supported by idplane' },
    { name: 'toFQDNs', input: egressOnly({ toFQDNs: [{ matchName: 'example.com' }] }), message: 'spec.egress[0].toFQDNs: is not supported by idplane' },
    { name: 'toServices', input: egressOnly({ toServices: [{ k8sService: { serviceName: 'db', namespace: 'x' } }] }), message: 'spec.egress[0].toServices: is not supported by idplane' },
    { name: 'icmps', input: ingressOnly({ icmps: [{ fields: [{ type: 'EchoRequest', family: 'IPv4' }] }] }), message: 'spec.ingress[0].icmps: is not supported by idplane' },
    { name: 'authentication', input: ingressOnly({ authentication: { mode: 'required' } }), message: 'spec.ingress[0].authentication: is not supported by idplane' },
    { name: 'fromGroups', input: ingressOnly({ fromGroups: [{ aws: { region: 'eu-west-1' } }] }), message: 'spec.ingress[0].fromGroups: is not supported by idplane' },
    { name: 'toGroups', input: egressOnly({ toGroups: [] }), message: 'spec.egress[0].toGroups: is not supported by idplane' },
    { name: 'fromNodes', input: ingressOnly({ fromNodes: [{ matchLabels: { role: 'x' } }] }), message: 'spec.ingress[0].fromNodes: is not supported by idplane' },
    { name: 'toNodes', input: egressOnly({ toNodes: [{}] }), message: 'spec.egress[0].toNodes: is not supported by idplane' },
    { name: 'fromRequires', input: cnp({ spec: { ...ALL, ingressDeny: [{ fromRequires: [{ matchLabels: { env: 'prod' } }] }] } }), message: 'spec.ingressDeny[0].fromRequires: is not supported by idplane' },
    { name: 'toRequires', input: egressOnly({ toRequires: [{}] }), message: 'spec.egress[0].toRequires: is not supported by idplane' },
    { name: 'cidrGroupRef', input: egressOnly({ toCIDRSet: [{ cidrGroupRef: 'office' }] }), message: 'spec.egress[0].toCIDRSet[0].cidrGroupRef: is not supported by idplane' },
    { name: 'cidrGroupSelector', input: ingressOnly({ fromCIDRSet: [{ cidrGroupSelector: { matchLabels: { a: 'b' } } }] }), message: 'spec.ingress[0].fromCIDRSet[0].cidrGroupSelector: is not supported by idplane' },
    { name: 'named port', input: ports({ port: 'http' }), message: 'spec.ingress[0].toPorts[0].ports[0].port: named port "http" is not supported by idplane; use a port number' },
    { name: 'hex-looking port is a named port to Cilium', input: ports({ port: '0x50' }), message: 'spec.ingress[0].toPorts[0].ports[0].port: named port "0x50" is not supported by idplane; use a port number' },
    { name: 'nodeSelector (host policy) in a CCNP', input: ccnp({ spec: { nodeSelector: {}, ingress: [{}] } }), target: CCNP_TARGET, message: 'spec.nodeSelector: is not supported by idplane' },
    { name: 'nodeSelector in CNP specs (Cilium checks spec only)', input: cnp({ specs: [{ nodeSelector: {}, ingress: [{}] }] }), message: 'specs[0].nodeSelector: is not supported by idplane' },
    { name: 'rule labels', input: cnp({ spec: { ...ALL, egress: [{}], labels: [{ key: 'k' }] } }), message: 'spec.labels: is not supported by idplane' },
    { name: 'log', input: cnp({ spec: { ...ALL, egress: [{}], log: { value: 'x' } } }), message: 'spec.log: is not supported by idplane' },
    { name: 'finalizers', input: cnp({ metadata: { finalizers: ['x'] }, spec: { ...ALL, egress: [{}] } }), message: 'metadata.finalizers: is not supported by idplane' },
    { name: 'ownerReferences', input: cnp({ metadata: { ownerReferences: [] }, spec: { ...ALL, egress: [{}] } }), message: 'metadata.ownerReferences: is not supported by idplane' },
  ])('$name', ({ input, target, message }) => {
    expect(rejection(input, target)).toEqual({ code: 'unsupported-policy-field', message });
  });
});
