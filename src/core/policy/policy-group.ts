// Policy groups: an identity's computed policy depends only on the rules that select it and on
// whether it is `init` (resolvePolicy), never on its id, so the identities selected by the same
// rules share one resolved policy and one slice per remote identity, as Cilium's distillery
// shares one selectorPolicy. A group is created when its first member joins and goes when its
// last leaves; the SelectorCache knows groups (by serial) as the users of their peer selectors.
// All writes go through the engine's Journal.
import type { CompiledRule } from './compile.js';
import type { Journal } from './journal.js';
import { slicesEqual, type Slice } from './map-state.js';
import { HOST_IDENTITY, peerSlice, resolvePolicy, type ResolvedPolicy, type SubjectIdentity } from './resolve.js';
import type { SelectorCache } from './selector-cache.js';
import { labelsHave } from './selector.js';

export interface PolicyGroup {
  /** The group's name as a peer-selector user in the SelectorCache. */
  serial: number;
  key: string;
  policy: ResolvedPolicy;
  /** Entries per remote identity (identity 0's are in policy.zero). */
  slices: Map<number, Slice>;
  members: Set<number>;
}

export class PolicyGroups {
  private readonly byKey = new Map<string, PolicyGroup>();
  private readonly bySerial = new Map<number, PolicyGroup>();
  private readonly ofIdentity = new Map<number, PolicyGroup>();
  /** Rules by identity (compiled rules are immutable; a replaced policy's rules are new objects). */
  private readonly ruleSerials = new WeakMap<CompiledRule, number>();
  private nextRuleSerial = 1;
  private nextGroupSerial = 1;

  constructor(
    private readonly journal: Journal,
    private readonly cache: SelectorCache,
  ) {}

  groupOf(id: number): PolicyGroup | undefined {
    return this.ofIdentity.get(id);
  }

  bySerialNumber(serial: number): PolicyGroup | undefined {
    return this.bySerial.get(serial);
  }

  /** Moves an identity to the group of its matching rules; returns whether its output changed. */
  join(subject: SubjectIdentity, rules: readonly CompiledRule[]): boolean {
    const key = this.groupKey(subject, rules);
    const old = this.ofIdentity.get(subject.id);
    if (old?.key === key) return false;
    const next = this.byKey.get(key) ?? this.create(key, subject, rules);
    this.journal.add(next.members, subject.id);
    this.journal.set(this.ofIdentity, subject.id, next);
    if (old) this.leaveGroup(old, subject.id);
    return !old || !sameOutput(old, next);
  }

  /** Removes an identity from its group; returns whether it had one. */
  leave(id: number): boolean {
    const group = this.ofIdentity.get(id);
    if (!group) return false;
    this.journal.delete(this.ofIdentity, id);
    this.leaveGroup(group, id);
    return true;
  }

  /** Recomputes a group's entries for one remote identity; returns the members when they changed. */
  refreshSlice(serial: number, peer: number): ReadonlySet<number> | undefined {
    const group = this.bySerial.get(serial);
    if (!group) return undefined;
    const next = this.cache.labelsOf(peer) ? peerSlice(group.policy, peer, (key) => this.cache.selects(key, peer)) : new Map();
    if (slicesEqual(group.slices.get(peer), next)) return undefined;
    if (next.size > 0) this.journal.set(group.slices, peer, next);
    else this.journal.delete(group.slices, peer);
    return group.members;
  }

  private groupKey(subject: SubjectIdentity, rules: readonly CompiledRule[]): string {
    const serials = rules.map((r) => {
      let serial = this.ruleSerials.get(r);
      if (serial === undefined) {
        serial = this.nextRuleSerial++;
        this.ruleSerials.set(r, serial);
      }
      return serial;
    });
    return `${labelsHave(subject.labels, 'init') ? 'init' : ''}:${serials.join(',')}`;
  }

  private create(key: string, subject: SubjectIdentity, rules: readonly CompiledRule[]): PolicyGroup {
    const policy = resolvePolicy(subject, rules);
    const group: PolicyGroup = { serial: this.nextGroupSerial++, key, policy, slices: new Map(), members: new Set() };
    for (const selector of policy.peerSelectors.values()) this.cache.acquire(selector, group.serial);
    const peers = new Set<number>([HOST_IDENTITY]);
    for (const key of policy.peerSelectors.keys()) for (const peer of this.cache.selected(key)) peers.add(peer);
    // A peer's slice depends only on which peer selectors select it (and on it being the host):
    // peers alike share one (slices are replaced, never changed in place).
    const keys = [...policy.peerSelectors.keys()];
    const alike = new Map<string, Slice>();
    for (const peer of peers) {
      const selection = peer === HOST_IDENTITY ? 'host' : keys.map((key) => (this.cache.selects(key, peer) ? '1' : '0')).join('');
      let slice = alike.get(selection);
      if (!slice) {
        slice = peerSlice(policy, peer, (key) => this.cache.selects(key, peer));
        alike.set(selection, slice);
      }
      if (slice.size > 0) group.slices.set(peer, slice);
    }
    this.journal.set(this.byKey, key, group);
    this.journal.set(this.bySerial, group.serial, group);
    return group;
  }

  private leaveGroup(group: PolicyGroup, id: number): void {
    this.journal.remove(group.members, id);
    if (group.members.size > 0) return;
    for (const key of group.policy.peerSelectors.keys()) this.cache.release(key, group.serial);
    this.journal.delete(this.byKey, group.key);
    this.journal.delete(this.bySerial, group.serial);
  }
}

function sameOutput(a: PolicyGroup, b: PolicyGroup): boolean {
  if (a.policy.enforced[0] !== b.policy.enforced[0] || a.policy.enforced[1] !== b.policy.enforced[1]) return false;
  if (!slicesEqual(a.policy.zero, b.policy.zero) || a.slices.size !== b.slices.size) return false;
  for (const [peer, slice] of a.slices) if (!slicesEqual(slice, b.slices.get(peer))) return false;
  return true;
}
