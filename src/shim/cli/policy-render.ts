// Tables of the policy commands: `kubectl get cnp|ccnp`, `cilium bpf policy get` (POLICY.md §1:
// cilium-dbg/cmd/bpf_policy_get.go) and a `cilium policy trace`-like verdict, from API answers.
import { PROTO_SCTP, PROTO_TCP, PROTO_UDP } from '../../core/policy/map-key.js';
import type { PolicyMapEntry, PolicyObject, PolicySelectors, TraceAnswer } from '../../api/policies.js';
import { byteOrder } from './get.js';
import { formatTable, humanDuration } from './table.js';

/**
 * `get cnp|ccnp -o json|yaml` of a list: kubectl's List object, which `apply -f` reads back
 * (a bare `{items}` is no object kubectl or `idplane apply` accepts).
 */
export function policyList(items: readonly PolicyObject[]) {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

/** kubectl's order: the API server lists by storage key, <namespace>/<name>, in byte order. */
export function sortPolicies(items: readonly PolicyObject[]): PolicyObject[] {
  return [...items].sort((a, b) => byteOrder(a.metadata.namespace ?? '', b.metadata.namespace ?? '') || byteOrder(a.metadata.name, b.metadata.name));
}

// The CRDs' printer columns: CNP `Age` and `Valid`, CCNP `Valid` only. The API stores only
// policies it accepted, so each is valid.
export function renderNetworkPolicies(items: readonly PolicyObject[], opts: { allNamespaces: boolean; now: number }): string {
  const rows = sortPolicies(items).map((p) => [
    ...(opts.allNamespaces ? [p.metadata.namespace ?? ''] : []),
    p.metadata.name,
    humanDuration(opts.now - Date.parse(p.metadata.creationTimestamp)),
    'True',
  ]);
  return formatTable([...(opts.allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'AGE', 'VALID'], rows);
}

export function renderClusterwidePolicies(items: readonly PolicyObject[]): string {
  return formatTable(['NAME', 'VALID'], sortPolicies(items).map((p) => [p.metadata.name, 'True']));
}

// u8proto.U8proto.String() for the protocols a policy map can hold.
const PROTOCOL_NAMES = new Map<number, string>([[0, 'ANY'], [1, 'ICMP'], [PROTO_TCP, 'TCP'], [PROTO_UDP, 'UDP'], [58, 'ICMPv6'], [PROTO_SCTP, 'SCTP']]);

export function protocolName(protocol: number): string {
  return PROTOCOL_NAMES.get(protocol) ?? String(protocol);
}

/** PolicyKey.PortProtoString: `ANY`, `TCP`, `80/TCP` or `80-95/TCP`. */
export function portProtoString(e: Pick<PolicyMapEntry, 'protocol' | 'port' | 'end-port' | 'prefix-length'>): string {
  const proto = protocolName(e.protocol);
  if (e['prefix-length'] <= 8) return proto;
  return e['end-port'] === undefined ? `${e.port}/${proto}` : `${e.port}-${e['end-port']}/${proto}`;
}

/** PolicyEntriesDump.Less: deny first, then ingress before egress, then by identity; ties keep key order. */
export function sortBpfEntries(entries: readonly PolicyMapEntry[]): PolicyMapEntry[] {
  const rank = (e: PolicyMapEntry) => [e.verdict === 'deny' ? 0 : 1, e.direction === 'ingress' ? 0 : 1, e.identity];
  return [...entries].sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
  });
}

const capitalised = (s: string) => `${s[0]!.toUpperCase()}${s.slice(1)}`;

/** The identities whose labels a table needs: every remote identity but 0 (printed as ANY). */
export function remoteIdentities(entries: readonly { identity: number }[]): number[] {
  return [...new Set(entries.map((e) => e.identity).filter((id) => id !== 0))].sort((a, b) => a - b);
}

/**
 * `cilium bpf policy get`: one row per entry, an identity's labels one per line (identity 0 as
 * ANY; an identity whose labels are unknown by number), or numbers only with `numeric`. Bytes and
 * packets are the datapath's counters and not the control plane's, so they are left out; the
 * POLICIES column names the policies that produced each entry.
 */
export function renderBpfPolicy(entries: readonly PolicyMapEntry[], opts: { labels: ReadonlyMap<number, readonly string[]>; numeric: boolean }): string {
  const headers = ['POLICY', 'DIRECTION', opts.numeric ? 'IDENTITY' : 'LABELS (source:key[=value])', 'PORT/PROTO', 'PROXY PORT', 'AUTH TYPE', 'PREFIX', 'POLICIES'];
  const rows: string[][] = [];
  for (const e of sortBpfEntries(entries)) {
    const labels = opts.numeric ? [] : e.identity === 0 ? ['ANY'] : [...(opts.labels.get(e.identity) ?? [])].sort(byteOrder);
    const [first = String(e.identity), ...more] = labels;
    rows.push([capitalised(e.verdict), capitalised(e.direction), first, portProtoString(e), 'NONE', 'disabled', String(e['prefix-length']), e.policies.join(',')]);
    for (const label of more) rows.push(['', '', label, '', '', '', '', '']);
  }
  return formatTable(headers, rows, { minWidth: 5, empty: '' });
}

/** An extended selector key (`source.key`) as the label it looks for (`source:key`). */
const labelKey = (extended: string) => extended.replace('.', ':');

const EXPRESSION_FORMS: Record<string, (key: string, values: string[]) => string> = {
  In: (k, v) => `${k} in (${v.join(',')})`,
  NotIn: (k, v) => `${k} notin (${v.join(',')})`,
  Exists: (k) => k,
  DoesNotExist: (k) => `!${k}`,
};

/**
 * A selector key (STABLE FORMAT, src/core/policy/selector.ts) in label-selector syntax with
 * Cilium's label names: `k8s:app=web,k8s:tier in (a,b),!k8s:canary`.
 */
export function selectorText(key: string): string {
  const sel = JSON.parse(key) as { matchLabels: Record<string, string>; matchExpressions: [string, string, string[]][] };
  const parts = [
    ...Object.entries(sel.matchLabels).map(([k, v]) => `${labelKey(k)}=${v}`),
    ...sel.matchExpressions.map(([k, op, values]) => EXPRESSION_FORMS[op]!(labelKey(k), values)),
  ];
  return parts.length === 0 ? '(all identities)' : parts.join(',');
}

/** Each selector of a policy with the identities it selects, their labels one per line. */
export function renderPolicySelectors(answer: PolicySelectors, opts: { labels: ReadonlyMap<number, readonly string[]>; numeric: boolean }): string {
  const rows: string[][] = [];
  for (const s of answer.selectors) {
    const selector = selectorText(s.selector);
    if (s.identities.length === 0) rows.push([selector, '(none)', '']);
    s.identities.forEach((id, i) => {
      const [first = '', ...more] = opts.numeric ? [] : [...(opts.labels.get(id) ?? [])].sort(byteOrder);
      rows.push([i === 0 ? selector : '', String(id), first]);
      for (const label of more) rows.push(['', '', label]);
    });
    if (s.count > s.identities.length) rows.push(['', `(${s.count - s.identities.length} more)`, '']);
  }
  return formatTable(['SELECTOR', 'IDENTITY', ...(opts.numeric ? [] : ['LABELS'])], opts.numeric ? rows.map((r) => r.slice(0, 2)) : rows, { minWidth: 5, empty: '' });
}

function describeSide(side: TraceAnswer['egress']): string {
  if (!side.entry) return side.verdict === 'allow' ? 'not enforced (no policy of its own)' : 'no entry matches (default deny)';
  const e = side.entry;
  const peer = e.identity === 0 ? 'ANY' : `identity ${e.identity}`;
  const policies = side.policies.length > 0 ? side.policies.join(', ') : 'none';
  return `${capitalised(e.direction)} ${peer} ${portProtoString(e)} prefix ${e['prefix-length']}, from policies: ${policies}`;
}

/** `cilium policy trace`: each side's verdict with the entry and policies that decided it, then the verdict. */
export function renderTrace(answer: TraceAnswer, query: { from: string; to: string; port: string }): string {
  const party = (text: string, id: number) => (text === `identity ${id}` ? text : `${text} (identity ${id})`);
  return [
    `Tracing From: ${party(query.from, answer.from)} => To: ${party(query.to, answer.to)} Ports: [${query.port}]`,
    '',
    `Egress of the source:       ${capitalised(answer.egress.verdict)}: ${describeSide(answer.egress)}`,
    `Ingress of the destination: ${capitalised(answer.ingress.verdict)}: ${describeSide(answer.ingress)}`,
    '',
    `Final verdict: ${answer.verdict === 'allow' ? 'ALLOWED' : 'DENIED'}`,
  ].join('\n');
}
