// Labels as Cilium models them (pkg/labels): `source:key=value`, keyed by key alone, so two sources
// cannot hold the same key in one set.
import { DomainError } from './errors.js';
import { checkLabelKey, checkLabelValue } from './k8s-names.js';

export const LABEL_SOURCES = [
  'unspec',
  'any',
  'k8s',
  'container',
  'cni',
  'reserved',
  'cidr',
  'cidrgroup',
  'node',
  'fqdn',
] as const;

/** Sources a client may put on an endpoint: `reserved` is the agent's, `any` only selects. */
const CLIENT_SOURCES: ReadonlySet<string> = new Set(['unspec', 'k8s', 'container', 'cni', 'node']);

export interface Label {
  source: string;
  key: string;
  value: string;
}

/** A label set keyed by label key, as Cilium's `labels.Labels` map. */
export type LabelSet = ReadonlyMap<string, Label>;

/**
 * Splits `source:key=value` as Cilium's parseLabel does: the source is the text before the first
 * `:` (none or empty → `unspec`), `$name` and `reserved.name` are `reserved:name`, the value
 * follows the first `=`.
 */
export function parseLabel(s: string): Label {
  let source = 'unspec';
  let rest = s;
  if (s.startsWith('$')) {
    source = 'reserved';
    rest = s.slice(1);
  } else {
    const colon = s.indexOf(':');
    if (colon >= 0) {
      source = s.slice(0, colon) || 'unspec';
      rest = s.slice(colon + 1);
    } else if (s.startsWith('reserved.')) {
      source = 'reserved';
      rest = s.slice('reserved.'.length);
    }
  }
  const eq = rest.indexOf('=');
  if (eq < 0) return { source, key: rest, value: '' };
  return { source, key: rest.slice(0, eq), value: rest.slice(eq + 1) };
}

/** Cilium's Label.String(): `source:key=value`, or `source:key` when the value is empty. */
export function formatLabel(l: Label): string {
  return l.value === '' ? `${l.source}:${l.key}` : `${l.source}:${l.key}=${l.value}`;
}

/**
 * Parses and validates a label a client sent for an endpoint: a known, non-reserved source, and
 * Kubernetes' key and value rules. Throws `invalid-label` / `reserved-label` naming the label.
 */
export function parseClientLabel(s: string): Label {
  const label = parseLabel(s);
  if (label.source === 'reserved') {
    throw new DomainError('reserved-label', `label ${JSON.stringify(s)}: not allowed to add reserved labels`);
  }
  if (!CLIENT_SOURCES.has(label.source)) {
    const known = (LABEL_SOURCES as readonly string[]).includes(label.source);
    throw new DomainError(
      'invalid-label',
      `label ${JSON.stringify(s)}: ${known ? `source ${label.source} is not set on endpoints` : `unknown source ${JSON.stringify(label.source)}`}; use one of ${[...CLIENT_SOURCES].join(', ')}`,
    );
  }
  const problem = checkLabelKey(label.key) ?? checkLabelValue(label.value);
  if (problem) throw new DomainError('invalid-label', `label ${JSON.stringify(s)}: ${problem}`);
  return label;
}

/**
 * Builds a label set. A repeated identical label is folded; one key with two different
 * source/value pairs is a `duplicate-label-key` error, since a set is keyed by key.
 */
export function buildLabelSet(labels: Iterable<Label>): Map<string, Label> {
  const set = new Map<string, Label>();
  for (const l of labels) {
    const prev = set.get(l.key);
    if (prev && (prev.source !== l.source || prev.value !== l.value)) {
      throw new DomainError(
        'duplicate-label-key',
        `labels ${JSON.stringify(formatLabel(prev))} and ${JSON.stringify(formatLabel(l))} share the key ${JSON.stringify(l.key)}`,
      );
    }
    set.set(l.key, l);
  }
  return set;
}

function byKey(a: Label, b: Label): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Labels sorted by key, formatted with Cilium's Label.String(): the API's label lists. */
export function formatLabelList(set: LabelSet): string[] {
  return [...set.values()].sort(byKey).map(formatLabel);
}

/**
 * STABLE FORMAT — the identity key. Cilium's Labels.SortedList(): labels sorted by key (byte
 * order), each written `source:key=value;` with the `=` always present. Its SHA-256 is the
 * allocation key of every identity: changing this re-keys every identity in every cluster.
 */
export function sortedList(set: LabelSet): string {
  let out = '';
  for (const l of [...set.values()].sort(byKey)) out += `${l.source}:${l.key}=${l.value};`;
  return out;
}
