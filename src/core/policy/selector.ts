// Endpoint selectors as Cilium evaluates them (pkg/policy/api/selector.go, pkg/labels): user keys
// become extended keys `source.key` (GetExtendedKeyFrom), requirements follow k8s semantics over
// an identity's labels, where an `any` source matches every source and two `cidr` labels match by
// prefix containment (Label.HasKey). Compiled once per distinct selector, matched per identity.
import { parseIp } from '../ip.js';
import { parseLabel, type Label } from '../labels.js';
import type { EndpointSelector, SelectorOperator } from './rule.js';

export interface ExtRequirement {
  key: string;
  operator: SelectorOperator;
  values: readonly string[];
}

/** A label selector whose keys are extended keys (`k8s.app`, `any.app`, `reserved.host`, `cidr.10.0.0.0/8`). */
export interface ExtSelector {
  matchLabels: Readonly<Record<string, string>>;
  matchExpressions: readonly ExtRequirement[];
}

/** Cilium's GetExtendedKeyFrom: `k8s:app` → `k8s.app`, `app` → `any.app`, `$host`/`reserved.host` → `reserved.host`. */
export function extendedKey(userKey: string): string {
  let source = '';
  let rest = userKey;
  if (userKey.startsWith('$')) {
    source = 'reserved';
    rest = userKey.slice(1);
  } else {
    const colon = userKey.indexOf(':');
    if (colon >= 0) {
      source = userKey.slice(0, colon);
      rest = userKey.slice(colon + 1);
    } else if (userKey.startsWith('reserved.')) {
      source = 'reserved';
      rest = userKey.slice('reserved.'.length);
    }
  }
  const eq = rest.indexOf('=');
  return `${source || 'any'}.${eq >= 0 ? rest.slice(0, eq) : rest}`;
}

/** A user selector with its keys extended (EndpointSelector.Sanitize). */
export function extendSelector(sel: EndpointSelector): ExtSelector {
  const matchLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) matchLabels[extendedKey(k)] = v;
  const matchExpressions = (sel.matchExpressions ?? []).map((r) => ({ key: extendedKey(r.key), operator: r.operator, values: r.values ?? [] }));
  return { matchLabels, matchExpressions };
}

export function selectorHasKey(sel: ExtSelector, key: string): boolean {
  return key in sel.matchLabels || sel.matchExpressions.some((r) => r.key === key);
}

export function selectorHasKeyPrefix(sel: ExtSelector, prefix: string): boolean {
  return Object.keys(sel.matchLabels).some((k) => k.startsWith(prefix)) || sel.matchExpressions.some((r) => r.key.startsWith(prefix));
}

export function isWildcardSelector(sel: ExtSelector): boolean {
  return Object.keys(sel.matchLabels).length === 0 && sel.matchExpressions.length === 0;
}

/**
 * STABLE FORMAT — the selector key: one SelectorCache entry per key. Like Cilium's cache key
 * (LabelSelector.String()), match labels are sorted and expressions keep their written order, so
 * the same selectors share an entry exactly when they share one in Cilium. Stored and shown by the
 * API: changing it re-keys every cached selector.
 */
export function selectorKey(sel: ExtSelector): string {
  const labels = Object.keys(sel.matchLabels)
    .sort()
    .map((k) => [k, sel.matchLabels[k]]);
  return JSON.stringify({ matchLabels: Object.fromEntries(labels), matchExpressions: sel.matchExpressions.map((r) => [r.key, r.operator, r.values]) });
}

/** An IP prefix as network-order bytes, for `cidr` label containment. */
interface LabelPrefix {
  family: 4 | 6;
  bytes: Uint8Array;
  bits: number;
}

/** Cilium's LabelToPrefix: a `cidr` label key (IPv6 `:` written as `-`) as a prefix; host bits allowed. */
function labelToPrefix(key: string): LabelPrefix | undefined {
  const text = key.replaceAll('-', ':');
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (!ip || !/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > ip.bytes.length * 8) return undefined;
  return { family: ip.family, bytes: ip.bytes, bits };
}

function prefixContains(outer: LabelPrefix, inner: LabelPrefix): boolean {
  if (outer.family !== inner.family || outer.bits > inner.bits) return false;
  for (let i = 0; i < outer.bits; i++) {
    const mask = 0x80 >> (i & 7);
    if ((outer.bytes[i >> 3]! & mask) !== (inner.bytes[i >> 3]! & mask)) return false;
  }
  return true;
}

/** A label of an identity, with its prefix parsed when its source is `cidr`. */
export interface MatchLabel extends Label {
  prefix?: LabelPrefix;
}

/** One label ready for matching: parsed, with its prefix when its source is `cidr`. */
export function toMatchLabel(text: string): MatchLabel {
  const l: MatchLabel = parseLabel(text);
  if (l.source === 'cidr') {
    const prefix = labelToPrefix(l.key);
    if (prefix) l.prefix = prefix;
  }
  return l;
}

/** Cilium's LabelArray order: by key. */
export function byLabelKey(a: MatchLabel, b: MatchLabel): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** An identity's labels ready for matching: parsed, sorted by key as Cilium's LabelArray. */
export function toMatchLabels(labels: readonly string[]): MatchLabel[] {
  return labels.map(toMatchLabel).sort(byLabelKey);
}

/** Label.HasKey: the target (from a selector) may be looser in source (`any`) or prefix (`cidr`). */
function hasKey(l: MatchLabel, target: MatchLabel): boolean {
  if (target.source !== 'any' && l.source !== target.source) return false;
  if (target.source === 'cidr' && l.source === 'cidr' && target.prefix && l.prefix && prefixContains(target.prefix, l.prefix)) return true;
  return l.key === target.key;
}

/** parseSelectLabel(key, '.'): an extended key as the label it looks for (`unspec` reads as `any`). */
function selectLabel(extKey: string): MatchLabel {
  const dot = extKey.indexOf('.');
  const source = dot < 0 ? 'any' : extKey.slice(0, dot) || 'any';
  const key = dot < 0 ? extKey : extKey.slice(dot + 1);
  const l: MatchLabel = { source: source === 'unspec' ? 'any' : source, key, value: '' };
  if (l.source === 'cidr') {
    const prefix = labelToPrefix(key);
    if (prefix) l.prefix = prefix;
  }
  return l;
}

interface CompiledRequirement {
  target: MatchLabel;
  operator: SelectorOperator;
  values: ReadonlySet<string>;
}

export interface CompiledSelector {
  key: string;
  selector: ExtSelector;
  wildcard: boolean;
  requirements: readonly CompiledRequirement[];
  /**
   * The pod namespaces it requires (GetMatch on `k8s.io.kubernetes.pod.namespace`: the match
   * label, else the first In expression), or null: an index, the requirement itself stays.
   */
  namespaces: readonly string[] | null;
}

export const POD_NAMESPACE_KEY = 'k8s.io.kubernetes.pod.namespace';

function requiredNamespaces(selector: ExtSelector): string[] | null {
  const label = selector.matchLabels[POD_NAMESPACE_KEY];
  if (label !== undefined) return [label];
  const expr = selector.matchExpressions.find((r) => r.key === POD_NAMESPACE_KEY && r.operator === 'In');
  return expr ? [...expr.values] : null;
}

export function compileSelector(selector: ExtSelector): CompiledSelector {
  const requirements: CompiledRequirement[] = selector.matchExpressions.map((r) => ({ target: selectLabel(r.key), operator: r.operator, values: new Set(r.values) }));
  for (const [k, v] of Object.entries(selector.matchLabels)) requirements.push({ target: selectLabel(k), operator: 'In', values: new Set([v]) });
  return { key: selectorKey(selector), selector, wildcard: isWildcardSelector(selector), requirements, namespaces: requiredNamespaces(selector) };
}

/** LabelArray.Get: the value of the first label (by key order) holding the target's key. */
function lookup(labels: readonly MatchLabel[], target: MatchLabel): string | undefined {
  for (const l of labels) if (hasKey(l, target)) return l.value;
  return undefined;
}

/** k8s Requirement.Matches over Cilium's LabelArray, ANDed. */
export function selectorMatches(sel: CompiledSelector, labels: readonly MatchLabel[]): boolean {
  for (const r of sel.requirements) {
    const value = lookup(labels, r.target);
    switch (r.operator) {
      case 'In':
        if (value === undefined || !r.values.has(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && r.values.has(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
    }
  }
  return true;
}

/** Targets of the few constant keys the engine asks about for every identity, parsed once. */
const constantTargets = new Map<string, MatchLabel>();

function constantTarget(extKey: string): MatchLabel {
  let t = constantTargets.get(extKey);
  if (!t) {
    t = selectLabel(extKey);
    constantTargets.set(extKey, t);
  }
  return t;
}

/** LabelArray.Has for a plain key as Cilium's repository asks it (`host`, `init`: any source); `extKey` a constant. */
export function labelsHave(labels: readonly MatchLabel[], extKey: string): boolean {
  return lookup(labels, constantTarget(extKey)) !== undefined;
}

/** LabelArray.Get for an extended key (a constant); '' when absent, as in Cilium. */
export function labelValue(labels: readonly MatchLabel[], extKey: string): string {
  return lookup(labels, constantTarget(extKey)) ?? '';
}
