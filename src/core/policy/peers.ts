// The selectors behind a rule's peers and subject, as Cilium v1.18 builds them for an IPv4-only
// agent: namespace scoping (k8s/apis/cilium.io/utils/utils.go), entities (api/entity.go) and CIDR
// peers (api/cidr.go, labels/cidr.go). POLICY.md §4.2, §5, §9.
import { formatIpBytes, parseIp } from '../ip.js';
import type { CidrRule, Entity, PeerRule } from './rule.js';
import { extendSelector, POD_NAMESPACE_KEY, selectorHasKey, selectorHasKeyPrefix, type ExtSelector } from './selector.js';

const POD_NAMESPACE_ANY = 'any.io.kubernetes.pod.namespace';
const NAMESPACE_LABELS_K8S = 'k8s.io.cilium.k8s.namespace.labels.';
const NAMESPACE_LABELS_ANY = 'any.io.cilium.k8s.namespace.labels.';
const RESERVED_PREFIX = 'reserved.';
const RESERVED_INIT = 'reserved.init';
const POLICY_CLUSTER_K8S = 'k8s.io.cilium.k8s.policy.cluster';

/** Selector of a label with an empty value (NewESFromLabels). */
function labelSelector(extKey: string, value = ''): ExtSelector {
  return { matchLabels: { [extKey]: value }, matchExpressions: [] };
}

/** The subject of a rule: a CNP's is pinned to its namespace (AddMatch overrides the user's). */
export function subjectSelector(sel: ExtSelector, namespace: string | null): ExtSelector {
  if (namespace === null) return sel;
  return { matchLabels: { ...sel.matchLabels, [POD_NAMESPACE_KEY]: namespace }, matchExpressions: sel.matchExpressions };
}

/** matchesPodInit: a CCNP whose subject names `reserved:init` leaves its peers unscoped. */
export function subjectMatchesInit(subject: ExtSelector): boolean {
  return selectorHasKey(subject, RESERVED_INIT);
}

/** getEndpointSelector: fromEndpoints/toEndpoints scoped to the policy's namespace (CNP) or to pods (CCNP). */
export function peerEndpointSelector(sel: ExtSelector, namespace: string | null, subjectIsInit: boolean): ExtSelector {
  if (selectorHasKeyPrefix(sel, RESERVED_PREFIX)) return sel;
  if (selectorHasKey(sel, POD_NAMESPACE_KEY) || selectorHasKey(sel, POD_NAMESPACE_ANY)) return sel;
  if (namespace === null) {
    if (subjectIsInit) return sel;
    return { matchLabels: sel.matchLabels, matchExpressions: [...sel.matchExpressions, { key: POD_NAMESPACE_KEY, operator: 'Exists', values: [] }] };
  }
  if (selectorHasKeyPrefix(sel, NAMESPACE_LABELS_K8S) || selectorHasKeyPrefix(sel, NAMESPACE_LABELS_ANY)) return sel;
  return { matchLabels: { ...sel.matchLabels, [POD_NAMESPACE_KEY]: namespace }, matchExpressions: sel.matchExpressions };
}

const RESERVED = (name: string) => labelSelector(`${RESERVED_PREFIX}${name}`);

/** EntitySelectorMapping after InitEntities(clusterName). */
function entitySelectors(entity: Entity, clusterName: string): ExtSelector[] {
  switch (entity) {
    case 'all':
      return [{ matchLabels: {}, matchExpressions: [] }];
    case 'world':
      return [RESERVED('world'), RESERVED('world-ipv4'), RESERVED('world-ipv6')];
    case 'cluster':
      return [
        RESERVED('host'),
        RESERVED('remote-node'),
        RESERVED('init'),
        RESERVED('ingress'),
        RESERVED('health'),
        RESERVED('unmanaged'),
        RESERVED('kube-apiserver'),
        labelSelector(POLICY_CLUSTER_K8S, clusterName),
      ];
    default:
      return [RESERVED(entity)];
  }
}

interface ParsedCidr {
  family: 4 | 6;
  bytes: Uint8Array;
  bits: number;
  /** Whether the text was a bare address (no `/`). */
  bare: boolean;
}

/** netip.ParsePrefix or, without a `/`, netip.ParseAddr; host bits are masked off. */
function parseCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const max = ip.bytes.length * 8;
  const bits = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return undefined;
  const bytes = Uint8Array.from(ip.bytes);
  for (let i = bits; i < max; i++) bytes[i >> 3]! &= ~(0x80 >> (i & 7));
  return { family: ip.family, bytes, bits, bare: slash < 0 };
}

/** maskedIPToLabel: the `cidr` label key, IPv6 colons as dashes (a leading/trailing one padded with 0). */
function cidrLabelKey(addrText: string, bits: number): string {
  let out = '';
  for (let i = 0; i < addrText.length; i++) {
    const c = addrText[i]!;
    if (c !== ':') out += c;
    else if (i === 0) out += '0-';
    else if (i === addrText.length - 1) out += '-0';
    else out += '-';
  }
  return `${out}/${bits}`;
}

/** IPStringToLabel: a bare address keeps its written text, a prefix is masked and canonical. */
function cidrLabelKeyOf(text: string): string | undefined {
  const p = parseCidr(text);
  if (!p) return undefined;
  return cidrLabelKey(p.bare ? text : formatIpBytes(p.bytes, p.family), p.bits);
}

/** fromCIDR/toCIDR (CIDRSlice.GetAsEndpointSelectors, IPv4 only: `0.0.0.0/0` adds reserved:world). */
export function cidrSelectors(cidrs: readonly string[]): ExtSelector[] {
  const out: ExtSelector[] = [];
  for (const c of cidrs) {
    const key = cidrLabelKeyOf(c);
    if (key !== undefined) out.push(labelSelector(`cidr.${key}`));
  }
  if (cidrs.includes('0.0.0.0/0')) out.push(RESERVED('world'));
  return out;
}

/** fromCIDRSet/toCIDRSet: `Exists cidr:X` and `DoesNotExist` per except; a `/0` is duplicated for reserved:world. */
export function cidrSetSelectors(rules: readonly CidrRule[]): ExtSelector[] {
  const out: ExtSelector[] = [];
  for (const r of rules) {
    const key = cidrLabelKeyOf(r.cidr);
    if (key === undefined) continue;
    const excepts = (r.except ?? []).map((e) => ({ key: `cidr.${cidrLabelKeyOf(e) ?? e}`, operator: 'DoesNotExist' as const, values: [] }));
    out.push({ matchLabels: {}, matchExpressions: [{ key: `cidr.${key}`, operator: 'Exists', values: [] }, ...excepts] });
    if (r.cidr.endsWith('/0')) out.push({ matchLabels: {}, matchExpressions: [{ key: 'reserved.world', operator: 'Exists', values: [] }, ...excepts] });
  }
  return out;
}

/**
 * The peers of one ingress/egress section (GetSourceEndpointSelectorsWithRequirements): null when
 * an explicitly empty list makes it select nothing, [] when it names no peer at all.
 */
export function sectionPeers(section: PeerRule, namespace: string | null, subjectIsInit: boolean, clusterName: string): ExtSelector[] | null {
  const explicitlyEmpty = (l: readonly unknown[] | undefined) => l !== undefined && l.length === 0;
  if (explicitlyEmpty(section.cidr) || explicitlyEmpty(section.cidrSet) || explicitlyEmpty(section.entities) || explicitlyEmpty(section.endpoints)) {
    return null;
  }
  return [
    ...(section.endpoints ?? []).map((s) => peerEndpointSelector(extendSelector(s), namespace, subjectIsInit)),
    ...(section.entities ?? []).flatMap((e) => entitySelectors(e, clusterName)),
    ...cidrSelectors(section.cidr ?? []),
    ...cidrSetSelectors(section.cidrSet ?? []),
  ];
}

/** Canonical masked prefix text of a CIDR as written (a bare address is a host prefix). */
export function canonicalPrefix(text: string): string | undefined {
  const p = parseCidr(text);
  return p && `${formatIpBytes(p.bytes, p.family)}/${p.bits}`;
}

/**
 * Labels of the identity for a prefix (GetCIDRLabels, IPv6 off): `cidr:<prefix>` and
 * `reserved:world`; a /0 has only the world label, so it is the reserved world identity (2).
 */
export function cidrIdentityLabels(prefix: string): string[] {
  const p = parseCidr(prefix);
  if (!p) throw new Error(`not a prefix: ${prefix}`);
  if (p.bits === 0) return ['reserved:world'];
  return [`cidr:${cidrLabelKey(formatIpBytes(p.bytes, p.family), p.bits)}`, 'reserved:world'];
}
