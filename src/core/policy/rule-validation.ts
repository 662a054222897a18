// Cilium v1.18's Rule.Sanitize (pkg/policy/api/rule_validation.go) and EndpointSelector.Sanitize
// (selector.go, slim ValidateLabelSelector), run on a rule that already passed the CRD schema: the
// checks the agent adds after kube-apiserver. Agent flags at their defaults (L7 proxy and ICMP
// rules on, non-default-deny policies on) except enable-node-selector-labels, taken as on so that
// fromNodes/toNodes are reported as unsupported rather than as a flag error. Messages are
// `path: <Cilium's error>`; where Cilium names a pair in Go map order, the pair is named in
// declaration order.
import { extendedKey } from './selector.js';
import { goParseAddrError, parseGoPrefix, parseUint16Base0, prefixContains } from './go-parse.js';
import { aggregate, forbidden, goQuote, invalidValue, isQualifiedName, isValidLabelValue, requiredValue } from './k8s-field-errors.js';
import { isObject, type JsonObject } from './schema-validate.js';

const INGRESS_L3 = [
  ['fromEndpoints', 'FromEndpoints'],
  ['fromCIDR', 'FromCIDR'],
  ['fromCIDRSet', 'FromCIDRSet'],
  ['fromEntities', 'FromEntities'],
  ['fromNodes', 'FromNodes'],
  ['fromGroups', 'FromGroups'],
] as const;
const EGRESS_L3 = [
  ['toCIDR', 'ToCIDR'],
  ['toCIDRSet', 'ToCIDRSet'],
  ['toEndpoints', 'ToEndpoints'],
  ['toEntities', 'ToEntities'],
  ['toServices', 'ToServices'],
  ['toGroups', 'ToGroups'],
  ['toNodes', 'ToNodes'],
  ['toFQDNs', 'ToFQDNs'],
] as const;

const MAX_PORTS = 40;

function list(o: JsonObject, key: string): unknown[] {
  const v = o[key];
  return Array.isArray(v) ? v : [];
}

function obj(o: JsonObject, key: string): JsonObject | undefined {
  const v = o[key];
  return isObject(v) ? v : undefined;
}

/** EndpointSelector.Sanitize: the k8s selector rules on the source-extended keys, all errors aggregated. */
function selectorError(selector: JsonObject, path: string, keyPrefix?: string): string | undefined {
  const extend = keyPrefix === undefined ? extendedKey : (k: string) => keyPrefix + k;
  const errs: string[] = [];
  for (const [key, value] of Object.entries(obj(selector, 'matchLabels') ?? {})) {
    const ext = extend(key);
    for (const msg of isQualifiedName(ext)) errs.push(invalidValue('matchLabels', ext, msg));
    for (const msg of isValidLabelValue(value as string)) errs.push(invalidValue('matchLabels', value, msg));
  }
  list(selector, 'matchExpressions').forEach((raw, i) => {
    const expr = raw as JsonObject;
    const at = `matchExpressions[${i}]`;
    const values = list(expr, 'values') as string[];
    if ((expr.operator === 'In' || expr.operator === 'NotIn') && values.length === 0) {
      errs.push(requiredValue(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if ((expr.operator === 'Exists' || expr.operator === 'DoesNotExist') && values.length > 0) {
      errs.push(forbidden(`${at}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    }
    const ext = extend(expr.key as string);
    for (const msg of isQualifiedName(ext)) errs.push(invalidValue(`${at}.key`, ext, msg));
    values.forEach((v, j) => {
      for (const msg of isValidLabelValue(v)) errs.push(invalidValue(`${at}.values[${j}]`, v, msg));
    });
  });
  return errs.length > 0 ? `${path}: invalid label selector: ${aggregate(errs)}` : undefined;
}

function selectorsError(section: JsonObject, key: string, path: string): string | undefined {
  const selectors = list(section, key);
  for (let i = 0; i < selectors.length; i++) {
    const err = selectorError(selectors[i] as JsonObject, `${path}.${key}[${i}]`);
    if (err) return err;
  }
  return undefined;
}

function cidrError(cidr: string, path: string): string | undefined {
  if (!cidr.includes('/')) return undefined; // a bare IP the schema accepted: a host prefix
  const parsed = parseGoPrefix(cidr);
  return parsed.ok ? undefined : `${path}: unable to parse CIDR: ${goParseAddrError(cidr)}`;
}

function cidrRuleError(rule: JsonObject, path: string): string | undefined {
  const group = obj(rule, 'cidrGroupSelector');
  if (group) {
    const err = selectorError(group, `${path}.cidrGroupSelector`, 'cidrgroup.');
    if (err) return err.replace(': invalid label selector: ', `: failed to parse cidrGroupSelector: invalid label selector: `);
  }
  if (typeof rule.cidr !== 'string') return undefined;
  const parsed = parseGoPrefix(rule.cidr);
  if (!parsed.ok) return `${path}.cidr: unable to parse CIDRRule ${goQuote(rule.cidr)}: ${parsed.message}`;
  const excepts = list(rule, 'except') as string[];
  for (let i = 0; i < excepts.length; i++) {
    const except = parseGoPrefix(excepts[i]!);
    if (!except.ok) return `${path}.except[${i}]: ${except.message}`;
    if (!prefixContains(parsed.prefix, except.prefix.ip)) {
      return `${path}.except[${i}]: allow CIDR prefix ${rule.cidr} does not contain exclude CIDR prefix ${excepts[i]}`;
    }
  }
  return undefined;
}

/** IngressCommonRule.sanitize / EgressCommonRule.sanitize. */
function commonError(section: JsonObject, path: string, ingress: boolean): string | undefined {
  const members = (ingress ? INGRESS_L3 : EGRESS_L3).filter(([key]) => list(section, key).length > 0);
  if (members.length > 1) return `${path}: combining ${members[0]![1]} and ${members[1]![1]} is not supported yet`;
  const [endpoints, requires, nodes, cidr, cidrSet] = ingress
    ? ['fromEndpoints', 'fromRequires', 'fromNodes', 'fromCIDR', 'fromCIDRSet']
    : ['toEndpoints', 'toRequires', 'toNodes', 'toCIDR', 'toCIDRSet'];
  for (const key of [endpoints, requires, nodes]) {
    const err = selectorsError(section, key, path);
    if (err) return err;
  }
  const cidrs = list(section, cidr) as string[];
  for (let i = 0; i < cidrs.length; i++) {
    const err = cidrError(cidrs[i]!, `${path}.${cidr}[${i}]`);
    if (err) return err;
  }
  const rules = list(section, cidrSet);
  for (let i = 0; i < rules.length; i++) {
    const err = cidrRuleError(rules[i] as JsonObject, `${path}.${cidrSet}[${i}]`);
    if (err) return err;
  }
  return undefined;
}

interface L7Counts {
  any: boolean;
  dns: number;
  http: number;
  kafka: number;
}

/** countL7Rules: over the port rules that carry L7 `rules`. */
function countL7(portRules: unknown[]): L7Counts {
  const counts: L7Counts = { any: false, dns: 0, http: 0, kafka: 0 };
  for (const pr of portRules) {
    const rules = obj(pr as JsonObject, 'rules');
    if (!rules) continue;
    counts.any = true;
    counts.dns += list(rules, 'dns').length;
    counts.http += list(rules, 'http').length;
    counts.kafka += list(rules, 'kafka').length;
  }
  return counts;
}

/** PortProtocol.sanitize: `Port must be specified`, then named port or strconv.ParseUint(port, 0, 16). */
function portError(port: JsonObject, path: string, hasDnsRules: boolean): string | undefined {
  const text = port.port as string;
  if (isServiceName(text)) return undefined;
  const parsed = parseUint16Base0(text);
  if (!parsed.ok) return `${path}.port: unable to parse port: ${parsed.message}`;
  if (hasDnsRules && typeof port.endPort === 'number' && port.endPort > parsed.value) {
    return `${path}.endPort: DNS rules do not support port ranges`;
  }
  return undefined;
}

/** PortRule.sanitize (allow sections) and PortDenyRule.sanitize (deny sections). */
function portRuleError(pr: JsonObject, path: string, ingress: boolean, deny: boolean): string | undefined {
  const rules = obj(pr, 'rules');
  const hasDnsRules = rules !== undefined && list(rules, 'dns').length > 0;
  if (!deny) {
    if (ingress && hasDnsRules) return `${path}.rules: DNS rules are not allowed on ingress`;
    if (list(pr, 'serverNames').length > 0 && rules && !pr.terminatingTLS) {
      return `${path}.serverNames: ServerNames are not allowed with L7 rules without TLS termination`;
    }
  }
  const ports = list(pr, 'ports') as JsonObject[];
  if (ports.length > MAX_PORTS) return `${path}.ports: too many ports, the max is ${MAX_PORTS}`;
  for (let i = 0; i < ports.length; i++) {
    const err = portError(ports[i]!, `${path}.ports[${i}]`, hasDnsRules);
    if (err) return err;
    const protocol = (ports[i]!.protocol as string | undefined) ?? 'ANY';
    if (rules && !hasDnsRules && protocol !== 'TCP') {
      return `${path}.ports[${i}].protocol: L7 rules can only apply to TCP (not ${protocol}) except for DNS rules`;
    }
  }
  const listener = obj(pr, 'listener');
  if (listener && ingress) return `${path}.listener: Listener is not allowed on ingress (${listener.name as string})`;
  if (listener && rules) return `${path}.listener: Listener is not allowed with L7 rules (${listener.name as string})`;
  if (rules) {
    if (ports.some((p) => numericPort(p.port as string) === 0)) {
      return `${path}.rules: L7 rules can not be used when a port is 0`;
    }
    if (rules.dns !== undefined && ports.length === 0) return `${path}.rules: port 53 must be specified for DNS rules`;
    if (rules.l7 !== undefined && rules.l7proto === undefined) {
      return `${path}.rules: 'l7' may only be specified when a 'l7proto' is also specified`;
    }
  }
  return undefined;
}

/** The number Cilium reads from a port that is not a service name. */
function numericPort(port: string): number | undefined {
  if (isServiceName(port)) return undefined;
  const parsed = parseUint16Base0(port);
  return parsed.ok ? parsed.value : undefined;
}

/** iana.IsSvcName: 1–15 characters, alphanumerics with single inner dashes, at least one letter. */
export function isServiceName(s: string): boolean {
  return s.length > 0 && s.length <= 15 && /^([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$/.test(s);
}

function sectionError(section: JsonObject, path: string, ingress: boolean, deny: boolean, hostPolicy: boolean): string | undefined {
  const common = commonError(section, path, ingress);
  if (common) return common;
  const portRules = list(section, 'toPorts');
  if (!deny) {
    const l7 = countL7(portRules);
    if (ingress && hostPolicy && l7.any) return `${path}: L7 policy is not supported on host ingress yet`;
    if (ingress && l7.dns > 0) return `${path}: L7 protocol DNS is not supported on ingress yet`;
    if (!ingress && hostPolicy && l7.http > 0) return `${path}: L7 protocol HTTP is not supported on host egress yet`;
    if (!ingress && hostPolicy && l7.kafka > 0) return `${path}: L7 protocol Kafka is not supported on host egress yet`;
  }
  if (list(section, 'icmps').length > 0 && portRules.length > 0) {
    return `${path}: the ICMPs block may only be present without ToPorts. Define a separate rule to use ToPorts`;
  }
  for (let i = 0; i < portRules.length; i++) {
    const err = portRuleError(portRules[i] as JsonObject, `${path}.toPorts[${i}]`, ingress, deny);
    if (err) return err;
  }
  return undefined;
}

/** Rule.Sanitize on one schema-valid rule at `path` (`spec`, `specs[1]`). */
export function ruleSanitizeError(rule: JsonObject, path: string): string | undefined {
  const sections = [
    ['ingress', true, false],
    ['ingressDeny', true, true],
    ['egress', false, false],
    ['egressDeny', false, true],
  ] as const;
  if (sections.every(([key]) => list(rule, key).length === 0)) {
    return `${path}: rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny`;
  }
  for (const key of ['endpointSelector', 'nodeSelector']) {
    const selector = obj(rule, key);
    const err = selector && selectorError(selector, `${path}.${key}`);
    if (err) return err;
  }
  const hostPolicy = obj(rule, 'nodeSelector') !== undefined;
  for (const [key, ingress, deny] of sections) {
    const items = list(rule, key);
    for (let i = 0; i < items.length; i++) {
      const err = sectionError(items[i] as JsonObject, `${path}.${key}[${i}]`, ingress, deny, hostPolicy);
      if (err) return err;
    }
  }
  return undefined;
}
