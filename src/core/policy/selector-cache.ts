// The SelectorCache (Cilium pkg/policy/selectorcache.go): every identity with its labels, each
// distinct selector (by selectorKey) with the identities it selects, reference-counted by the
// rules and subjects that use it, and which subjects use each selector as a peer. All writes go
// through the engine's Journal.
import { RESERVED_IDENTITIES } from '../identity.js';
import type { Journal } from './journal.js';
import { selectorMatches, toMatchLabels, type CompiledSelector, type MatchLabel } from './selector.js';

/** Cilium loads reserved identities 1–10 (not 11, which has no labels). */
const SELECTABLE_RESERVED = RESERVED_IDENTITIES.filter((r) => r.labels.length > 0);

export class SelectorCache {
  private readonly identities = new Map<number, MatchLabel[]>();
  private readonly selectors = new Map<string, { selector: CompiledSelector; selected: Set<number> }>();
  private readonly refs = new Map<string, number>();
  /** Subjects whose peer selectors include the key. */
  private readonly peerUsers = new Map<string, Set<number>>();

  constructor(private readonly journal: Journal) {
    journal.run(() => {
      for (const r of SELECTABLE_RESERVED) journal.set(this.identities, r.id, toMatchLabels(r.labels));
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

  /** Adds an identity (O(selectors)); returns the subjects whose peer selectors now select it. */
  addIdentity(id: number, labels: readonly string[]): Set<number> {
    if (this.identities.has(id)) throw new Error(`identity ${id} is already known`);
    const parsed = toMatchLabels(labels);
    this.journal.set(this.identities, id, parsed);
    const users = new Set<number>();
    for (const [key, s] of this.selectors) {
      if (!selectorMatches(s.selector, parsed)) continue;
      this.journal.add(s.selected, id);
      for (const u of this.peerUsers.get(key) ?? []) users.add(u);
    }
    return users;
  }

  /** Removes an identity; returns the subjects whose peer selectors selected it. */
  removeIdentity(id: number): Set<number> {
    const users = new Set<number>();
    for (const [key, s] of this.selectors) {
      if (!s.selected.has(id)) continue;
      this.journal.remove(s.selected, id);
      for (const u of this.peerUsers.get(key) ?? []) users.add(u);
    }
    this.journal.delete(this.identities, id);
    return users;
  }

  /** Takes a reference on a selector, evaluating it over every identity when it is new. */
  acquire(selector: CompiledSelector, peerUser?: number): void {
    const refs = this.refs.get(selector.key) ?? 0;
    this.journal.set(this.refs, selector.key, refs + 1);
    if (refs === 0) {
      const selected = new Set<number>();
      for (const [id, labels] of this.identities) if (selectorMatches(selector, labels)) selected.add(id);
      this.journal.set(this.selectors, selector.key, { selector, selected });
    }
    if (peerUser === undefined) return;
    let users = this.peerUsers.get(selector.key);
    if (!users) {
      users = new Set();
      this.journal.set(this.peerUsers, selector.key, users);
    }
    this.journal.add(users, peerUser);
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
    this.journal.delete(this.refs, key);
    this.journal.delete(this.selectors, key);
  }

  /** Each cached selector and the identities it selects, by selector key. */
  selections(): { selector: string; identities: number[] }[] {
    return [...this.selectors]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, s]) => ({ selector: key, identities: [...s.selected].sort((a, b) => a - b) }));
  }
}
