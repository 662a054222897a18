// The SelectorCache (Cilium pkg/policy/selectorcache.go): every identity with its labels, each
// distinct selector (by selectorKey) with the identities it selects, reference-counted by the
// rules and policy groups that use it, and which groups (by serial) use each selector as a peer. Like Cilium's
// labelIdentitySelector.namespaces, selectors pinned to pod namespaces are indexed by namespace,
// so an identity is only tested against unpinned selectors and those of its own namespace.
// Identities share their parsed labels (a cluster has far fewer distinct labels than identities
// times labels), reference-counted so the pool holds only labels of known identities. All writes
// go through the engine's Journal.
import { RESERVED_IDENTITIES } from '../identity.js';
import type { Journal } from './journal.js';
import { byLabelKey, labelValue, POD_NAMESPACE_KEY, selectorMatches, toMatchLabel, type CompiledSelector, type MatchLabel } from './selector.js';

/** Cilium loads reserved identities 1–10 (not 11, which has no labels). */
const SELECTABLE_RESERVED = RESERVED_IDENTITIES.filter((r) => r.labels.length > 0);

export class SelectorCache {
  private readonly identities = new Map<number, MatchLabel[]>();
  /** Parsed labels by their text as given, how many identities hold each, and each one's text. */
  private readonly labelPool = new Map<string, MatchLabel>();
  private readonly labelRefs = new Map<string, number>();
  private readonly labelTexts = new WeakMap<MatchLabel, string>();
  private readonly identitiesByNamespace = new Map<string, Set<number>>();
  /** Keys of selectors pinned to each namespace, and of those pinned to none. */
  private readonly selectorsByNamespace = new Map<string, Set<string>>();
  private readonly unpinned = new Set<string>();
  private readonly selectors = new Map<string, { selector: CompiledSelector; selected: Set<number> }>();
  private readonly refs = new Map<string, number>();
  /** Policy groups (by serial) whose peer selectors include the key. */
  private readonly peerUsers = new Map<string, Set<number>>();

  constructor(private readonly journal: Journal) {
    journal.run(() => {
      for (const r of SELECTABLE_RESERVED) this.putIdentity(r.id, this.internLabels(r.labels));
    });
  }

  labelsOf(id: number): readonly MatchLabel[] | undefined {
    return this.identities.get(id);
  }

  selects(key: string, id: number): boolean {
    return this.selectors.get(key)!.selected.has(id);
  }

  selected(key: string): ReadonlySet<number> {
    return this.selectors.get(key)?.selected ?? new Set();
  }

  /** Adds an identity (O(selectors)); returns the policy groups whose peer selectors now select it. */
  addIdentity(id: number, labels: readonly string[]): Set<number> {
    if (this.identities.has(id)) throw new Error(`identity ${id} is already known`);
    const parsed = this.internLabels(labels);
    this.putIdentity(id, parsed);
    const users = new Set<number>();
    for (const key of this.candidateSelectors(parsed)) {
      const s = this.selectors.get(key)!;
      if (!selectorMatches(s.selector, parsed)) continue;
      this.journal.add(s.selected, id);
      for (const u of this.peerUsers.get(key) ?? []) users.add(u);
    }
    return users;
  }

  /** Removes an identity; returns the policy groups whose peer selectors selected it. */
  removeIdentity(id: number): Set<number> {
    const labels = this.identities.get(id);
    const users = new Set<number>();
    if (!labels) return users;
    for (const key of this.candidateSelectors(labels)) {
      const s = this.selectors.get(key)!;
      if (!s.selected.has(id)) continue;
      this.journal.remove(s.selected, id);
      for (const u of this.peerUsers.get(key) ?? []) users.add(u);
    }
    this.journal.delete(this.identities, id);
    this.releaseLabels(labels);
    const ns = labelValue(labels, POD_NAMESPACE_KEY);
    if (ns !== '') this.removeFromIndex(this.identitiesByNamespace, ns, id);
    return users;
  }

  /** toMatchLabels, sharing each distinct label. */
  private internLabels(texts: readonly string[]): MatchLabel[] {
    const out: MatchLabel[] = [];
    for (const text of texts) {
      let label = this.labelPool.get(text);
      if (!label) {
        label = toMatchLabel(text);
        this.labelTexts.set(label, text);
        this.journal.set(this.labelPool, text, label);
      }
      this.journal.set(this.labelRefs, text, (this.labelRefs.get(text) ?? 0) + 1);
      out.push(label);
    }
    return out.sort(byLabelKey);
  }

  private releaseLabels(labels: readonly MatchLabel[]): void {
    for (const l of labels) {
      const key = this.labelTexts.get(l)!;
      const refs = this.labelRefs.get(key)! - 1;
      if (refs > 0) {
        this.journal.set(this.labelRefs, key, refs);
        continue;
      }
      this.journal.delete(this.labelRefs, key);
      this.journal.delete(this.labelPool, key);
    }
  }

  private putIdentity(id: number, labels: MatchLabel[]): void {
    this.journal.set(this.identities, id, labels);
    const ns = labelValue(labels, POD_NAMESPACE_KEY);
    if (ns !== '') this.addToIndex(this.identitiesByNamespace, ns, id);
  }

  /** matchesNamespace: selectors an identity can match at all. */
  private *candidateSelectors(labels: readonly MatchLabel[]): Iterable<string> {
    yield* this.unpinned;
    const ns = labelValue(labels, POD_NAMESPACE_KEY);
    if (ns !== '') yield* this.selectorsByNamespace.get(ns) ?? [];
  }

  private addToIndex<T>(index: Map<string, Set<T>>, ns: string, value: T): void {
    let set = index.get(ns);
    if (!set) {
      set = new Set();
      this.journal.set(index, ns, set);
    }
    this.journal.add(set, value);
  }

  private removeFromIndex<T>(index: Map<string, Set<T>>, ns: string, value: T): void {
    const set = index.get(ns)!;
    this.journal.remove(set, value);
    if (set.size === 0) this.journal.delete(index, ns);
  }

  /** Takes a reference on a selector, evaluating it over every identity when it is new. */
  acquire(selector: CompiledSelector, peerUser?: number): void {
    const refs = this.refs.get(selector.key) ?? 0;
    this.journal.set(this.refs, selector.key, refs + 1);
    if (refs === 0) {
      this.journal.set(this.selectors, selector.key, { selector, selected: this.evaluate(selector) });
      if (!selector.namespaces) this.journal.add(this.unpinned, selector.key);
      for (const ns of new Set(selector.namespaces)) this.addToIndex(this.selectorsByNamespace, ns, selector.key);
    }
    if (peerUser === undefined) return;
    let users = this.peerUsers.get(selector.key);
    if (!users) {
      users = new Set();
      this.journal.set(this.peerUsers, selector.key, users);
    }
    this.journal.add(users, peerUser);
  }

  /**
   * The identities a selector selects: its cached selection, or, for a selector the cache does not
   * hold (no rule or policy group uses it), what it would hold, evaluated once and not kept.
   */
  selectionOf(selector: CompiledSelector): ReadonlySet<number> {
    return this.selectors.get(selector.key)?.selected ?? this.evaluate(selector);
  }

  /** Tests a selector against the identities it can match (those of its namespaces when pinned). */
  private evaluate(selector: CompiledSelector): Set<number> {
    const selected = new Set<number>();
    const test = (id: number) => {
      if (selectorMatches(selector, this.identities.get(id)!)) selected.add(id);
    };
    if (selector.namespaces) for (const ns of selector.namespaces) this.identitiesByNamespace.get(ns)?.forEach(test);
    else for (const id of this.identities.keys()) test(id);
    return selected;
  }

  release(key: string, peerUser?: number): void {
    if (peerUser !== undefined) {
      const users = this.peerUsers.get(key)!;
      this.journal.remove(users, peerUser);
      if (users.size === 0) this.journal.delete(this.peerUsers, key);
    }
    const refs = this.refs.get(key)! - 1;
    if (refs > 0) {
      this.journal.set(this.refs, key, refs);
      return;
    }
    const { selector } = this.selectors.get(key)!;
    this.journal.delete(this.refs, key);
    this.journal.delete(this.selectors, key);
    if (!selector.namespaces) this.journal.remove(this.unpinned, key);
    for (const ns of new Set(selector.namespaces)) this.removeFromIndex(this.selectorsByNamespace, ns, key);
  }

  /** Each cached selector and the identities it selects, by selector key. */
  selections(): { selector: string; identities: number[] }[] {
    return [...this.selectors]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, s]) => ({ selector: key, identities: [...s.selected].sort((a, b) => a - b) }));
  }
}
