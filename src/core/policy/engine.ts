// The policy engine: Cilium's policy repository, SelectorCache and per-identity map state in one
// pure, incremental object (POLICY.md §11).
//
// - SelectorCache (selector-cache.ts): each distinct selector (by selectorKey) with the
//   identities it selects. Adding an identity tests it against every cached selector
//   (O(selectors)) and recomputes only the slices (subject, new identity) of the subjects whose
//   peer selectors select it (map-state.ts: an identity's entries depend only on its own keys and
//   identity 0's); a pod identity also gets its own policy at once.
// - A policy put/delete updates the rules and marks the identities its old and new subject
//   selectors select as stale; `regenerate` recomputes stale identities (all of them, or a bounded
//   chunk the caller picks), so the Durable Object can spread a cluster-wide change over several
//   turns while the affected identities' revision trails.
// - Rollback safety is structural: every write goes through a Journal and is only possible inside
//   `transaction(fn)`; if `fn` throws (wrap the SQLite transaction inside it), every write is undone
//   before the error propagates, so a rolled-back transaction leaves no trace here. A transaction
//   reports the identities whose policy output changed, for the caller to persist and publish.
//   An undo log rather than a delta or an overlay: operations of one unit read each other's writes
//   (a create allocates an identity, then reads its policy), and cost stays proportional to them.
//   Usage: `engine.transaction((tx) => storage.transactionSync(() => { …tx.addIdentity… }))`.
//
// The result for every identity equals a from-scratch computation (elision applied in both paths).
import { compilePolicy, type CompiledPolicy, type CompiledRule } from './compile.js';
import { identityPolicy, type IdentityPolicy } from './entries.js';
import { Journal } from './journal.js';
import { slicesEqual, type Slice } from './map-state.js';
import { HOST_IDENTITY, matchingRules, peerSlice, resolvePolicy, type ResolvedPolicy } from './resolve.js';
import type { PolicyDocument } from './rule.js';
import { traceConnection, type TraceResult } from './trace.js';
import { SelectorCache } from './selector-cache.js';
import { MIN_CLUSTER_IDENTITY } from '../identity.js';

/** Local (CIDR) identities start at 1<<24; they, and reserved identities, have no policy of their own. */
export const LOCAL_IDENTITY_SCOPE = 1 << 24;

export function hasOwnPolicy(id: number): boolean {
  return id >= MIN_CLUSTER_IDENTITY && id < LOCAL_IDENTITY_SCOPE;
}

export interface PolicyEngineConfig {
  /** The cluster's name, for the `cluster` entity. */
  clusterName: string;
}

interface SubjectState {
  policy: ResolvedPolicy;
  /** Entries per remote identity (identity 0's are in policy.zero). */
  slices: Map<number, Slice>;
}

export interface PolicyChange {
  /** Identities whose policy must be recomputed by `regenerate`. */
  stale: number[];
  /** Prefixes now named by some policy that were not before, and the reverse. */
  prefixesAdded: string[];
  prefixesRemoved: string[];
}

export interface PolicyTxn {
  /** Adds an identity with its labels (`source:key=value`); a pod identity gets its policy at once. */
  addIdentity(id: number, labels: readonly string[]): void;
  removeIdentity(id: number): void;
  putPolicy(doc: PolicyDocument): PolicyChange;
  deletePolicy(ref: string): PolicyChange;
  /** Recomputes the given stale identities (all stale ones when omitted); returns those recomputed. */
  regenerate(ids?: Iterable<number>): number[];
  /** Identities whose policy output changed since the unit began or the last call (then forgotten). */
  takeChanged(): number[];
}

/** A trace endpoint: a known identity, or one that would be allocated for `labels`. */
export interface TraceParty {
  id: number;
  labels?: readonly string[];
}

const WHAT_IF = new Error('trace: roll back the what-if identities');

export class PolicyEngine {
  private readonly journal = new Journal();
  private readonly cache = new SelectorCache(this.journal);
  private readonly policies = new Map<string, CompiledPolicy>();
  private readonly rulesByNamespace = new Map<string, Set<CompiledRule>>();
  private readonly prefixRefs = new Map<string, number>();
  private readonly subjects = new Map<number, SubjectState>();
  private readonly staleSubjects = new Set<number>();
  private changed = new Set<number>();

  constructor(private readonly config: PolicyEngineConfig) {}

  /** Runs `fn` as one unit: all of its writes, or none if it throws. */
  transaction<T>(fn: (tx: PolicyTxn) => T): { value: T; changed: number[] } {
    const tx: PolicyTxn = {
      addIdentity: (id, labels) => this.addIdentity(id, labels),
      removeIdentity: (id) => this.removeIdentity(id),
      putPolicy: (doc) => {
        const compiled = compilePolicy(doc, this.config.clusterName);
        return this.replacePolicy(compiled.ref, compiled);
      },
      deletePolicy: (ref) => this.replacePolicy(ref, undefined),
      regenerate: (ids) => this.regenerate(ids),
      takeChanged: () => {
        const ids = [...this.changed].sort((a, b) => a - b);
        this.changed = new Set();
        return ids;
      },
    };
    const value = this.journal.run(() => {
      this.changed = new Set();
      return fn(tx);
    });
    return { value, changed: [...this.changed].sort((a, b) => a - b) };
  }

  /**
   * What a new connection gets (POLICY.md §3). An endpoint given with labels whose identity is not
   * known yet is traced as that identity would be: added in a unit that is then rolled back.
   */
  trace(from: TraceParty, to: TraceParty, protocol: number, port: number): TraceResult {
    let result: TraceResult | undefined;
    const changed = this.changed;
    try {
      this.journal.run(() => {
        for (const p of [from, to]) if (!this.cache.labelsOf(p.id) && p.labels) this.addIdentity(p.id, p.labels);
        const party = (p: TraceParty) => ({ id: p.id, policy: this.policyOf(p.id) });
        result = traceConnection(party(from), party(to), protocol, port);
        throw WHAT_IF;
      });
    } catch (e) {
      if (e !== WHAT_IF) throw e;
    } finally {
      this.changed = changed;
    }
    return result!;
  }

  /** The identity's computed policy; undefined for identities without a policy of their own. */
  policyOf(id: number): IdentityPolicy | undefined {
    const s = this.subjects.get(id);
    return s && identityPolicy(s.policy, s.slices);
  }

  isStale(id: number): boolean {
    return this.staleSubjects.has(id);
  }

  stale(): number[] {
    return [...this.staleSubjects].sort((a, b) => a - b);
  }

  /** Every prefix some policy names (each needs a CIDR identity). */
  namedPrefixes(): string[] {
    return [...this.prefixRefs.keys()].sort();
  }

  /** The SelectorCache: each selector and the identities it selects, by selector key. */
  selections(): { selector: string; identities: number[] }[] {
    return this.cache.selections();
  }

  /** Selector keys of a policy's rules and peers, for a "which identities does it select" view. */
  policySelectors(ref: string): string[] | undefined {
    const p = this.policies.get(ref);
    if (!p) return undefined;
    const keys = new Set<string>();
    for (const r of p.rules) {
      keys.add(r.subject.key);
      for (const s of r.sections) for (const sel of s.peers ?? []) keys.add(sel.key);
    }
    return [...keys];
  }

  private addIdentity(id: number, labels: readonly string[]): void {
    for (const subject of this.cache.addIdentity(id, labels)) this.refreshSlice(subject, id);
    if (hasOwnPolicy(id)) this.regenerateSubject(id);
  }

  private removeIdentity(id: number): void {
    if (!this.cache.labelsOf(id)) return;
    const own = this.subjects.get(id);
    if (own) {
      for (const key of own.policy.peerSelectors.keys()) this.cache.release(key, id);
      this.journal.delete(this.subjects, id);
      this.journal.remove(this.staleSubjects, id);
      this.changed.add(id);
    }
    for (const subject of this.cache.removeIdentity(id)) if (subject !== id) this.refreshSlice(subject, id);
  }

  /** Recomputes the entries of one remote identity in one subject's map. */
  private refreshSlice(subject: number, peer: number): void {
    const s = this.subjects.get(subject);
    if (!s) return;
    const next = this.cache.labelsOf(peer) ? peerSlice(s.policy, peer, (key) => this.cache.selects(key, peer)) : new Map();
    if (slicesEqual(s.slices.get(peer), next)) return;
    if (next.size > 0) this.journal.set(s.slices, peer, next);
    else this.journal.delete(s.slices, peer);
    this.changed.add(subject);
  }

  private replacePolicy(ref: string, next: CompiledPolicy | undefined): PolicyChange {
    const old = this.policies.get(ref);
    const stale = new Set<number>();
    const collect = (p: CompiledPolicy | undefined) => {
      for (const r of p?.rules ?? []) for (const id of this.cache.selected(r.subject.key)) if (hasOwnPolicy(id)) stale.add(id);
    };
    collect(old);
    for (const r of old?.rules ?? []) this.removeRule(r);
    if (next) {
      this.journal.set(this.policies, ref, next);
      for (const r of next.rules) this.addRule(r);
    } else {
      this.journal.delete(this.policies, ref);
    }
    collect(next);
    const prefixesAdded: string[] = [];
    const prefixesRemoved: string[] = [];
    for (const p of next?.prefixes ?? []) if (this.countPrefix(p, 1) === 1) prefixesAdded.push(p);
    for (const p of old?.prefixes ?? []) if (this.countPrefix(p, -1) === 0) prefixesRemoved.push(p);
    for (const id of stale) this.journal.add(this.staleSubjects, id);
    return {
      stale: [...stale].sort((a, b) => a - b),
      prefixesAdded: prefixesAdded.filter((p) => !prefixesRemoved.includes(p)),
      prefixesRemoved: prefixesRemoved.filter((p) => !prefixesAdded.includes(p)),
    };
  }

  private countPrefix(prefix: string, delta: number): number {
    const n = (this.prefixRefs.get(prefix) ?? 0) + delta;
    if (n > 0) this.journal.set(this.prefixRefs, prefix, n);
    else this.journal.delete(this.prefixRefs, prefix);
    return n;
  }

  private addRule(r: CompiledRule): void {
    let set = this.rulesByNamespace.get(r.namespace);
    if (!set) {
      set = new Set();
      this.journal.set(this.rulesByNamespace, r.namespace, set);
    }
    this.journal.add(set, r);
    this.cache.acquire(r.subject);
  }

  private removeRule(r: CompiledRule): void {
    const set = this.rulesByNamespace.get(r.namespace)!;
    this.journal.remove(set, r);
    if (set.size === 0) this.journal.delete(this.rulesByNamespace, r.namespace);
    this.cache.release(r.subject.key);
  }

  private regenerate(ids?: Iterable<number>): number[] {
    const todo = [...(ids ?? this.staleSubjects)].filter((id) => this.staleSubjects.has(id));
    for (const id of todo) this.regenerateSubject(id);
    return todo;
  }

  private regenerateSubject(id: number): void {
    const labels = this.cache.labelsOf(id)!;
    const rules = matchingRules(
      { id, labels },
      (ns) => this.rulesByNamespace.get(ns) ?? [],
      (r) => this.cache.selects(r.subject.key, id),
    );
    const policy = resolvePolicy({ id, labels }, rules);
    const old = this.subjects.get(id);
    // A subject uses each peer selector once: acquire the new ones, release those it no longer uses.
    for (const [key, selector] of policy.peerSelectors) if (!old?.policy.peerSelectors.has(key)) this.cache.acquire(selector, id);
    for (const key of old?.policy.peerSelectors.keys() ?? []) if (!policy.peerSelectors.has(key)) this.cache.release(key, id);
    const peers = new Set<number>([HOST_IDENTITY]);
    for (const key of policy.peerSelectors.keys()) for (const peer of this.cache.selected(key)) peers.add(peer);
    const slices = new Map<number, Slice>();
    for (const peer of peers) {
      const slice = peerSlice(policy, peer, (key) => this.cache.selects(key, peer));
      if (slice.size > 0) slices.set(peer, slice);
    }
    this.journal.set(this.subjects, id, { policy, slices });
    this.journal.remove(this.staleSubjects, id);
    if (!old || !sameOutput(old, { policy, slices })) this.changed.add(id);
  }
}

function sameOutput(a: SubjectState, b: SubjectState): boolean {
  if (a.policy.enforced[0] !== b.policy.enforced[0] || a.policy.enforced[1] !== b.policy.enforced[1]) return false;
  if (!slicesEqual(a.policy.zero, b.policy.zero) || a.slices.size !== b.slices.size) return false;
  for (const [peer, slice] of a.slices) if (!slicesEqual(slice, b.slices.get(peer))) return false;
  return true;
}
