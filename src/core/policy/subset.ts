// From a rule Cilium accepts to idplane's rule model (rule.ts): every field outside idplane's
// subset is refused by name (`unsupported-policy-field`), never dropped, and the few forms Cilium
// accepts with a surprising meaning are refused as invalid (`invalid-policy`): ports that are not
// plain decimal (Cilium reads `010` as octal 8) and `port: "0"` with an `endPort` (Cilium turns it
// into "all ports" in BPF, POLICY.md §2).
import { DomainError } from '../errors.js';
import { invalidValue } from './k8s-field-errors.js';
import { isServiceName } from './rule-validation.js';
import type { CidrRule, DefaultDeny, EndpointSelector, Entity, PeerRule, PortProtocol, PortProtocolName, PortRule, Rule, SelectorOperator } from './rule.js';
import { isObject, type JsonObject } from './schema-validate.js';

const UNSUPPORTED_RULE_FIELDS = new Set(['nodeSelector', 'labels', 'log']);
const UNSUPPORTED_SECTION_FIELDS = new Set([
  'fromGroups',
  'toGroups',
  'fromNodes',
  'toNodes',
  'fromRequires',
  'toRequires',
  'toServices',
  'toFQDNs',
  'icmps',
  'authentication',
]);
const UNSUPPORTED_PORT_RULE_FIELDS = new Set(['rules', 'listener', 'originatingTLS', 'terminatingTLS', 'serverNames']);
const UNSUPPORTED_CIDR_RULE_FIELDS = new Set(['cidrGroupRef', 'cidrGroupSelector']);

const DECIMAL_PORT = /^(0|[1-9][0-9]{0,4})$/;

function unsupported(path: string, what = 'is not supported by idplane'): never {
  throw new DomainError('unsupported-policy-field', `${path}: ${what}`);
}

function refuseUnsupported(o: JsonObject, path: string, fields: ReadonlySet<string>): void {
  for (const key of Object.keys(o)) if (fields.has(key)) unsupported(`${path}.${key}`);
}

function toSelector(raw: JsonObject): EndpointSelector {
  const selector: EndpointSelector = {};
  if (isObject(raw.matchLabels)) selector.matchLabels = Object.fromEntries(Object.entries(raw.matchLabels as Record<string, string>));
  if (Array.isArray(raw.matchExpressions)) {
    selector.matchExpressions = (raw.matchExpressions as JsonObject[]).map((e) => {
      const operator = e.operator as SelectorOperator;
      const hasValues = operator === 'In' || operator === 'NotIn';
      return hasValues ? { key: e.key as string, operator, values: [...(e.values as string[])] } : { key: e.key as string, operator };
    });
  }
  return selector;
}

function toPort(raw: JsonObject, path: string): PortProtocol {
  const text = raw.port as string;
  if (isServiceName(text)) unsupported(`${path}.port`, `named port ${JSON.stringify(text)} is not supported by idplane; use a port number`);
  if (!DECIMAL_PORT.test(text)) {
    throw new DomainError(
      'invalid-policy',
      invalidValue(`${path}.port`, text, 'idplane accepts only decimal port numbers 0-65535 without leading zeros'),
    );
  }
  const port: PortProtocol = { port: Number(text), protocol: ((raw.protocol as string | undefined) ?? 'ANY') as PortProtocolName };
  const endPort = raw.endPort as number | undefined;
  if (endPort !== undefined && endPort !== 0) {
    if (port.port === 0) {
      throw new DomainError(
        'invalid-policy',
        invalidValue(`${path}.endPort`, endPort, 'an endPort cannot follow port "0", which already means all ports'),
      );
    }
    port.endPort = endPort;
  }
  return port;
}

function toPortRule(raw: JsonObject, path: string): PortRule {
  refuseUnsupported(raw, path, UNSUPPORTED_PORT_RULE_FIELDS);
  if (!Array.isArray(raw.ports)) return {};
  return { ports: (raw.ports as JsonObject[]).map((p, i) => toPort(p, `${path}.ports[${i}]`)) };
}

function toCidrRule(raw: JsonObject, path: string): CidrRule {
  refuseUnsupported(raw, path, UNSUPPORTED_CIDR_RULE_FIELDS);
  const rule: CidrRule = { cidr: raw.cidr as string };
  if (Array.isArray(raw.except)) rule.except = [...(raw.except as string[])];
  return rule;
}

function toPeerRule(raw: JsonObject, path: string, ingress: boolean): PeerRule {
  refuseUnsupported(raw, path, UNSUPPORTED_SECTION_FIELDS);
  const [endpoints, entities, cidr, cidrSet] = ingress
    ? ['fromEndpoints', 'fromEntities', 'fromCIDR', 'fromCIDRSet']
    : ['toEndpoints', 'toEntities', 'toCIDR', 'toCIDRSet'];
  const peer: PeerRule = {};
  const at = (key: string, i: number) => `${path}.${key}[${i}]`;
  if (Array.isArray(raw[endpoints])) peer.endpoints = (raw[endpoints] as JsonObject[]).map(toSelector);
  if (Array.isArray(raw[entities])) peer.entities = [...(raw[entities] as Entity[])];
  if (Array.isArray(raw[cidr])) peer.cidr = [...(raw[cidr] as string[])];
  if (Array.isArray(raw[cidrSet])) peer.cidrSet = (raw[cidrSet] as JsonObject[]).map((r, i) => toCidrRule(r, at(cidrSet, i)));
  if (Array.isArray(raw.toPorts)) peer.toPorts = (raw.toPorts as JsonObject[]).map((r, i) => toPortRule(r, at('toPorts', i)));
  return peer;
}

/** The model of one rule that passed the CRD schema and Cilium's sanitizer, or the first field outside the subset. */
export function toRule(raw: JsonObject, path: string): Rule {
  refuseUnsupported(raw, path, UNSUPPORTED_RULE_FIELDS);
  const rule: Rule = { endpointSelector: toSelector(raw.endpointSelector as JsonObject) };
  for (const [key, ingress] of [
    ['ingress', true],
    ['ingressDeny', true],
    ['egress', false],
    ['egressDeny', false],
  ] as const) {
    if (Array.isArray(raw[key])) rule[key] = (raw[key] as JsonObject[]).map((s, i) => toPeerRule(s, `${path}.${key}[${i}]`, ingress));
  }
  if (isObject(raw.enableDefaultDeny)) {
    const dd: DefaultDeny = {};
    if (typeof raw.enableDefaultDeny.ingress === 'boolean') dd.ingress = raw.enableDefaultDeny.ingress;
    if (typeof raw.enableDefaultDeny.egress === 'boolean') dd.egress = raw.enableDefaultDeny.egress;
    rule.enableDefaultDeny = dd;
  }
  if (typeof raw.description === 'string') rule.description = raw.description;
  return rule;
}
