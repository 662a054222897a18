// The policy engine: Cilium's policy repository, SelectorCache and per-identity map state in one
// pure, incremental object (POLICY.md §11).
//
// - SelectorCache (selector-cache.ts): each distinct selector (by selectorKey) with the
//   identities it selects. Adding an identity tests it against every cached selector
//   (O(selectors)) and recomputes only the slices (group, new identity) of the policy groups whose
//   peer selectors select it (map-state.ts: an identity's entries depend only on its own keys and
//   identity 0's); a pod identity also gets its own policy at once.
// - Policy groups (policy-group.ts): an identity's output depends only on the rules that select it
//   (and whether it is `init`), so identities selected by the same rules share one resolved policy
//   and one set of slices, as Cilium's distillery shares a selectorPolicy. Work and memory then
//   grow with the distinct rule sets, not with the identities.
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
//   `PolicyEngine.load` builds an engine from stored state without an undo log: nothing needs
//   undoing, and if it throws no engine exists.
//
// The result for every identity equals a from-scratch computation (elision applied in both paths).
import { compilePolicy, type CompiledPolicy, type CompiledRule } from './compile.js';
import { identityPolicy, type IdentityPolicy } from './entries.js';
import { Journal } from './journal.js';
import { PolicyGroups } from './policy-group.js';
import { matchingRules } from './resolve.js';
import type { PolicyDocument } from './rule.js';
import { traceConnection, type TraceResult } from './trace.js';
import { SelectorCache } from './selector-cache.js';
import type { CompiledSelector } from './selector.js';
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

/** One selector of a policy: at most `limit` of the identities it selects (ascending) and their count. */
export interface PolicySelection {
  selector: string;
  identities: number[];
  count: number;
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
  private readonly groups = new PolicyGroups(this.journal, this.cache);
  private readonly staleSubjects = new Set<number>();
  private changed = new Set<number>();

  constructor(private readonly config: PolicyEngineConfig) {}

  /**
   * An engine holding stored state (policies, and identities with their labels), every identity
   * computed: what one transaction adding them all and regenerating gives, without the undo log.
   */
  static load(config: PolicyEngineConfig, policies: Iterable<PolicyDocument>, identities: Iterable<readonly [number, readonly string[]]>): PolicyEngine {
    const engine = new PolicyEngine(config);
    engine.journal.runUnlogged(() => {
      // Identities first, into a cache without selectors (nothing to refresh), then every rule,
      // then each identity's policy once, against the finished cache.
      const ids: number[] = [];
      for (const [id, labels] of identities) {
        engine.cache.addIdentity(id, labels);
        ids.push(id);
      }
      for (const doc of policies) {
        const compiled = compilePolicy(doc, config.clusterName);
        if (engine.policies.has(compiled.ref)) engine.replacePolicy(compiled.ref, compiled);
        else engine.installPolicy(compiled);
      }
      for (const id of ids) if (hasOwnPolicy(id)) engine.regenerateSubject(id);
    });
    engine.changed = new Set();
    return engine;
  }

  /** Runs `fn` as one unit: all of its writes, or none if it throws. Units nest (see Journal). */
  transaction<T>(fn: (tx: PolicyTxn) => T): { value: T; changed: number[] } {
    const tx: PolicyTxn = {
      addIdentity: (id, labels) => this.addIdentity(id, labels),
      removeIdentity: (id) => this.removeIdentity(id),
      putPolicy: (doc) => this.putPolicy(doc),
      deletePolicy: (ref) => this.replacePolicy(ref, undefined),
      regenerate: (ids) => this.regenerate(ids),
      takeChanged: () => {
        const ids = [...this.changed].sort((a, b) => a - b);
        this.changed = new Set();
        return ids;
      },
    };
    // A unit inside another adds to the outer unit's changed identities, and takes back its own
    // if it fails; an outermost unit starts afresh.
    const before = this.journal.running ? new Set(this.changed) : new Set<number>();
    const value = this.journal.run(() => {
      this.changed = new Set(before);
      try {
        return fn(tx);
      } catch (e) {
        this.changed = before;
        throw e;
      }
    });
    return { value, changed: [...this.changed].sort((a, b) => a - b) };
  }

  /**
   * What a new connection gets (POLICY.md §3). An endpoint given with labels whose identity is not
   * known yet is traced as that identity would be: added in a unit that is then rolled back.
   */
  trace(from: TraceParty, to: TraceParty, protocol: number, port: number): TraceResult {
    let result: TraceResult | undefined;
    const changed = new Set(this.changed);
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
    const g = this.groups.groupOf(id);
    return g && identityPolicy(g.policy, g.slices);
  }

  /**
   * Whether ingress and egress are enforced for the identity, without building its entries (an
   * identity selected by every peer has as many entries as the cluster has identities);
   * undefined for identities without a policy of their own.
   */
  enforcementOf(id: number): { ingress: boolean; egress: boolean } | undefined {
    const g = this.groups.groupOf(id);
    return g && { ingress: g.policy.enforced[0], egress: g.policy.enforced[1] };
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

  /**
   * The "which identities does it select" view of a policy: each of its selectors (rule subjects
   * and peers, once each, sorted by selector key) with the lowest `limit` identities it selects,
   * ascending, and how many it selects; undefined for an unknown policy. Work and size grow with
   * the policy's selectors, not the cache's: each reads its cached selection, or is evaluated once
   * when the cache does not hold it (a peer of a policy no identity's policy uses yet).
   */
  policySelectors(ref: string, limit: number): PolicySelection[] | undefined {
    const p = this.policies.get(ref);
    if (!p) return undefined;
    const selectors = new Map<string, CompiledSelector>();
    for (const r of p.rules) {
      selectors.set(r.subject.key, r.subject);
      for (const s of r.sections) for (const sel of s.peers ?? []) selectors.set(sel.key, sel);
    }
    return [...selectors]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, selector]) => {
        const selected = this.cache.selectionOf(selector);
        return { selector: key, identities: [...selected].sort((a, b) => a - b).slice(0, limit), count: selected.size };
      });
  }

  private putPolicy(doc: PolicyDocument): PolicyChange {
    const compiled = compilePolicy(doc, this.config.clusterName);
    return this.replacePolicy(compiled.ref, compiled);
  }

  private addIdentity(id: number, labels: readonly string[]): void {
    for (const group of this.cache.addIdentity(id, labels)) this.refreshSlice(group, id);
    if (hasOwnPolicy(id)) this.regenerateSubject(id);
  }

  private removeIdentity(id: number): void {
    if (!this.cache.labelsOf(id)) return;
    if (this.groups.leave(id)) {
      this.journal.remove(this.staleSubjects, id);
      this.changed.add(id);
    }
    for (const group of this.cache.removeIdentity(id)) this.refreshSlice(group, id);
  }

  /** Recomputes the entries of one remote identity in one policy group's map. */
  private refreshSlice(group: number, peer: number): void {
    for (const member of this.groups.refreshSlice(group, peer) ?? []) this.changed.add(member);
  }

  private replacePolicy(ref: string, next: CompiledPolicy | undefined): PolicyChange {
    const old = this.policies.get(ref);
    const stale = new Set<number>();
    const collect = (p: CompiledPolicy | undefined) => {
      for (const r of p?.rules ?? []) for (const id of this.cache.selected(r.subject.key)) if (hasOwnPolicy(id)) stale.add(id);
    };
    collect(old);
    const prefixesRemoved = old ? this.uninstallPolicy(old) : [];
    const prefixesAdded = next ? this.installPolicy(next) : [];
    collect(next);
    for (const id of stale) this.journal.add(this.staleSubjects, id);
    return {
      stale: [...stale].sort((a, b) => a - b),
      prefixesAdded: prefixesAdded.filter((p) => !prefixesRemoved.includes(p)),
      prefixesRemoved: prefixesRemoved.filter((p) => !prefixesAdded.includes(p)),
    };
  }

  /** Adds a policy's rules and prefixes; returns the prefixes no policy named before. */
  private installPolicy(p: CompiledPolicy): string[] {
    this.journal.set(this.policies, p.ref, p);
    for (const r of p.rules) this.addRule(r);
    return p.prefixes.filter((prefix) => this.countPrefix(prefix, 1) === 1);
  }

  /** Removes a policy's rules and prefixes; returns the prefixes no policy names any more. */
  private uninstallPolicy(p: CompiledPolicy): string[] {
    for (const r of p.rules) this.removeRule(r);
    this.journal.delete(this.policies, p.ref);
    return p.prefixes.filter((prefix) => this.countPrefix(prefix, -1) === 0);
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
    if (this.groups.join({ id, labels }, rules)) this.changed.add(id);
    this.journal.remove(this.staleSubjects, id);
  }
}
