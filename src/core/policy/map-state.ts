// Map state normalisation with deny precedence (Cilium's mapState.insertWithChanges,
// pkg/policy/mapstate.go; POLICY.md §8), per remote identity. Keys of one identity interact only
// with keys of that identity and of identity 0 (the wildcard), and the result does not depend on
// insertion order, so an endpoint's map is its identity-0 slice plus one slice per remote
// identity, each normalised against the finished identity-0 slice. That is what lets a new
// identity recompute its own slices alone.
import { coveringKeys, packKey, unpackKey, covers, type PortProtoKey } from './map-key.js';

export interface SliceEntry {
  deny: boolean;
  /** The policies whose rules produced the entry (Cilium's derivedFromRules). */
  policies: Set<string>;
}

/** Entries of one remote identity, by packed port/protocol key. */
export type Slice = Map<number, SliceEntry>;

function hasCoveringDeny(slice: ReadonlyMap<number, SliceEntry>, key: PortProtoKey, except?: number): boolean {
  for (const packed of coveringKeys(key)) if (packed !== except && slice.get(packed)?.deny) return true;
  return false;
}

/** addKeyWithChanges: same verdict merges its policies; a deny replaces an allow; an allow never replaces a deny. */
function addKey(slice: Slice, packed: number, deny: boolean, policies: Iterable<string>): void {
  const old = slice.get(packed);
  if (old && old.deny === deny) {
    for (const p of policies) old.policies.add(p);
  } else if (!old || deny) {
    slice.set(packed, { deny, policies: new Set(policies) });
  }
}

/**
 * insertWithChanges for a key of `slice`'s identity. `zero` is the finished identity-0 slice
 * (null when `slice` is that slice): its denies cover every identity.
 */
export function insertEntry(slice: Slice, zero: ReadonlyMap<number, SliceEntry> | null, key: PortProtoKey, deny: boolean, policies: Iterable<string>): void {
  const packed = packKey(key);
  if (zero && hasCoveringDeny(zero, key)) return;
  if (deny) {
    if (hasCoveringDeny(slice, key, packed)) return;
    for (const [k, v] of slice) {
      if ((!v.deny || k !== packed) && covers(key, unpackKey(k))) slice.delete(k);
    }
  } else if (hasCoveringDeny(slice, key)) {
    return;
  }
  addKey(slice, packed, deny, policies);
}

/**
 * determineAllowLocalhostIngress (allow-localhost=always under Kubernetes): ingress (host, any)
 * allow through authPreferredInsert, which looks only at the host identity's own keys, so only a
 * covering deny of identity 1 suppresses it.
 */
export function insertLocalhost(hostSlice: Slice, key: PortProtoKey): void {
  if (hasCoveringDeny(hostSlice, key)) return;
  addKey(hostSlice, packKey(key), false, []);
}

/** Slices compare by verdicts and policies (for incremental results). */
export function slicesEqual(a: ReadonlyMap<number, SliceEntry> | undefined, b: ReadonlyMap<number, SliceEntry> | undefined): boolean {
  if ((a?.size ?? 0) !== (b?.size ?? 0)) return false;
  for (const [k, v] of a ?? []) {
    const w = b?.get(k);
    if (!w || w.deny !== v.deny || w.policies.size !== v.policies.size || [...v.policies].some((p) => !w.policies.has(p))) return false;
  }
  return true;
}
