// Cilium's identity-relevant label filter (pkg/labelsfilter/filter.go): patterns
// `[source:][!]regex`, each matched against the label key and counted only when the match starts
// at index 0. Per label, `included` is the longest include match and `ignored` the shortest
// exclude match; the label is identity-relevant iff
// `(!whitelist && ignored == 0) || included > ignored`. Patterns are Go regular expressions in
// Cilium, so they run on re2js (RE2 syntax and linear-time matching): no pattern can make a
// match take more than time linear in the key, whatever an admin configures.
import { RE2JS } from 're2js';
import { DomainError } from './errors.js';
import type { Label, LabelSet } from './labels.js';

/** Cilium v1.18 defaultLabelPrefixCfg(), in order (its includes are regexp.QuoteMeta'd). */
export const DEFAULT_LABEL_FILTER: readonly string[] = [
  'reserved:.*',
  'io\\.kubernetes\\.pod\\.namespace',
  'io\\.cilium\\.k8s\\.namespace\\.labels',
  'app\\.kubernetes\\.io',
  'io\\.cilium\\.k8s\\.policy\\.cluster',
  'io\\.cilium\\.k8s\\.policy\\.serviceaccount',
  '!io\\.kubernetes',
  '!kubernetes\\.io',
  '!statefulset\\.kubernetes\\.io/pod-name',
  '!apps\\.kubernetes\\.io/pod-index',
  '!batch\\.kubernetes\\.io/job-completion-index',
  '!batch\\.kubernetes\\.io/controller-uid',
  '!.*beta\\.kubernetes\\.io',
  '!k8s\\.io',
  '!pod-template-generation',
  '!pod-template-hash',
  '!controller-revision-hash',
  '!controller-uid',
  '!annotation.*',
  '!etcd_node',
];

interface LabelPattern {
  source: string | undefined;
  ignore: boolean;
  expr: RE2JS;
}

export interface FilteredLabels {
  identity: Map<string, Label>;
  information: Map<string, Label>;
}

export type LabelFilter = (labels: LabelSet) => FilteredLabels;

const MEMO_LIMIT = 10000;

function parseLabelPattern(pattern: string, index: number): LabelPattern {
  const fail = (why: string): never => {
    throw new DomainError('invalid-label-filter', `label-filter[${index}] ${JSON.stringify(pattern)}: ${why}`);
  };
  let source: string | undefined;
  let prefix = pattern;
  const colon = pattern.indexOf(':');
  if (colon >= 0) {
    source = pattern.slice(0, colon);
    prefix = pattern.slice(colon + 1);
  }
  const ignore = prefix.startsWith('!');
  if (ignore) prefix = prefix.slice(1);
  // Cilium compiles an empty expression, which matches every key with length 0: an include that
  // counts for nothing, or an exclude that drops every label outside whitelist mode. Refuse it.
  if (prefix.length === 0) fail('empty expression');
  let expr: RE2JS;
  try {
    expr = RE2JS.compile(prefix);
  } catch (e) {
    return fail(`invalid RE2 regular expression: ${(e as Error).message}`);
  }
  return { source, ignore, expr };
}

/**
 * Length of the pattern's match when it starts at index 0 of the key (LabelPrefix.matches: Go's
 * leftmost-first FindStringIndex must start at 0). An anchored leftmost-first match is the same
 * match: if any match starts at 0, the leftmost one does. Keys are ASCII (Kubernetes key rules),
 * so UTF-16 lengths are Go's byte lengths.
 */
function matchLength(p: LabelPattern, label: Label): number | undefined {
  if (p.source !== undefined && p.source !== label.source) return undefined;
  const m = p.expr.matcher(label.key);
  return m.lookingAt() ? m.end() : undefined;
}

/**
 * Compiles a filter once. Cilium sets `whitelist` only when the user configures an include, so
 * an include pattern that is not one of the defaults turns it on.
 */
export function compileLabelFilter(patterns: readonly string[]): LabelFilter {
  const compiled = patterns.map(parseLabelPattern);
  const defaults = new Set(DEFAULT_LABEL_FILTER);
  const whitelist = patterns.some((p, i) => !compiled[i]!.ignore && !defaults.has(p));
  const isIdentityRelevant = (label: Label): boolean => {
    let included = 0;
    let ignored = 0;
    for (const p of compiled) {
      const len = matchLength(p, label);
      if (len === undefined) continue;
      if (p.ignore) {
        if (ignored === 0 || len < ignored) ignored = len;
      } else if (len > included) {
        included = len;
      }
    }
    return (!whitelist && ignored === 0) || included > ignored;
  };
  // The verdict depends on source and key only, and a cluster has few distinct keys: memoise it,
  // bounded so that a stream of unique keys cannot grow memory.
  const memo = new Map<string, boolean>();
  return (labels) => {
    const identity = new Map<string, Label>();
    const information = new Map<string, Label>();
    for (const [key, label] of labels) {
      const memoKey = `${label.source}:${key}`;
      let relevant = memo.get(memoKey);
      if (relevant === undefined) {
        relevant = isIdentityRelevant(label);
        if (memo.size >= MEMO_LIMIT) memo.clear();
        memo.set(memoKey, relevant);
      }
      (relevant ? identity : information).set(key, label);
    }
    return { identity, information };
  };
}

/** Validates patterns without keeping the filter: the first error names the pattern's index. */
export function checkLabelFilter(patterns: readonly string[]): void {
  patterns.forEach(parseLabelPattern);
}
