// An identity's computed policy as the API lists it: enforcement and the entries its endpoints'
// `cilium_policy_v2_<id>` maps hold (byte encoding: src/datapath/layout/policy.ts).
import { blockEndPort, INGRESS, lpmPrefixLength, unpackKey } from './map-key.js';
import type { Slice } from './map-state.js';
import type { ResolvedPolicy } from './resolve.js';

export interface PolicyEntry {
  identity: number;
  direction: 'ingress' | 'egress';
  /** IANA protocol number, 0 = any. */
  protocol: number;
  /** 0 = all ports. */
  port: number;
  /** Last port of a port-range block; absent for an exact port or all ports. */
  endPort?: number;
  /** The entry's LPM length P (0–24). */
  prefixLength: number;
  verdict: 'allow' | 'deny';
  /** Policies whose rules produced the entry, sorted. */
  policies: string[];
}

export interface IdentityPolicy {
  ingressEnforced: boolean;
  egressEnforced: boolean;
  /** Ordered by identity, direction, protocol, port, prefix length. */
  entries: PolicyEntry[];
}

function sliceEntries(identity: number, slice: Slice): PolicyEntry[] {
  const out: PolicyEntry[] = [];
  for (const [packed, v] of slice) {
    const k = unpackKey(packed);
    const prefixLength = lpmPrefixLength(k);
    const e: PolicyEntry = {
      identity,
      direction: k.direction === INGRESS ? 'ingress' : 'egress',
      protocol: k.protocol,
      port: k.port,
      prefixLength,
      verdict: v.deny ? 'deny' : 'allow',
      policies: [...v.policies].sort(),
    };
    if (k.port !== 0 && k.portBits < 16) e.endPort = blockEndPort(k);
    out.push(e);
  }
  return out;
}

function byKey(a: PolicyEntry, b: PolicyEntry): number {
  return a.identity - b.identity || a.direction.localeCompare(b.direction) || a.protocol - b.protocol || a.port - b.port || a.prefixLength - b.prefixLength;
}

export function identityPolicy(policy: ResolvedPolicy, slices: ReadonlyMap<number, Slice>): IdentityPolicy {
  const entries = sliceEntries(0, policy.zero);
  for (const [peer, slice] of slices) entries.push(...sliceEntries(peer, slice));
  return { ingressEnforced: policy.enforced[0], egressEnforced: policy.enforced[1], entries: entries.sort(byKey) };
}
