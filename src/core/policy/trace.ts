// The datapath's verdict for a new connection (`__policy_can_access`, bpf/lib/policy.h; POLICY.md
// §3), replayed over computed entries: an LPM lookup with the exact remote identity (a deny wins at
// once), then with identity 0; the identity-0 entry wins if it denies, if there is no L3 match,
// or if its prefix is longer (no proxy priorities in idplane's subset); no match drops.
import type { IdentityPolicy, PolicyEntry } from './entries.js';

export interface TraceSide {
  verdict: 'allow' | 'deny';
  /** The entry that decided; null when the identity has no policy of its own or nothing matched. */
  entry: PolicyEntry | null;
  policies: string[];
}

export interface TraceResult {
  verdict: 'allow' | 'deny';
  egress: TraceSide;
  ingress: TraceSide;
}

function entryMatches(e: PolicyEntry, protocol: number, port: number): boolean {
  if (e.prefixLength === 0) return true;
  if (e.protocol !== protocol) return false;
  const portBits = e.prefixLength - 8;
  if (portBits === 0) return true;
  const mask = (0xffff << (16 - portBits)) & 0xffff;
  return (port & mask) === (e.port & mask);
}

/** The longest-prefix entry of `identity` in `direction` matching protocol/port (the LPM trie lookup). */
function lookup(entries: readonly PolicyEntry[], direction: PolicyEntry['direction'], identity: number, protocol: number, port: number): PolicyEntry | null {
  let best: PolicyEntry | null = null;
  for (const e of entries) {
    if (e.identity !== identity || e.direction !== direction || !entryMatches(e, protocol, port)) continue;
    if (!best || e.prefixLength > best.prefixLength) best = e;
  }
  return best;
}

/** One side: `policy` is the local identity's (undefined: none of its own, so not enforced). */
function traceSide(policy: IdentityPolicy | undefined, direction: PolicyEntry['direction'], remote: number, protocol: number, port: number): TraceSide {
  if (!policy) return { verdict: 'allow', entry: null, policies: [] };
  const l3 = lookup(policy.entries, direction, remote, protocol, port);
  let chosen = l3;
  if (!(l3 && l3.verdict === 'deny')) {
    const l4 = lookup(policy.entries, direction, 0, protocol, port);
    if (l4 && (l4.verdict === 'deny' || !l3 || l4.prefixLength > l3.prefixLength)) chosen = l4;
  }
  if (!chosen) return { verdict: 'deny', entry: null, policies: [] };
  return { verdict: chosen.verdict, entry: chosen, policies: chosen.policies };
}

/** A connection from `from` to `to`: the source's egress, then the destination's ingress. */
export function traceConnection(
  from: { id: number; policy: IdentityPolicy | undefined },
  to: { id: number; policy: IdentityPolicy | undefined },
  protocol: number,
  port: number,
): TraceResult {
  const egress = traceSide(from.policy, 'egress', to.id, protocol, port);
  const ingress = traceSide(to.policy, 'ingress', from.id, protocol, port);
  return { verdict: egress.verdict === 'allow' && ingress.verdict === 'allow' ? 'allow' : 'deny', egress, ingress };
}
