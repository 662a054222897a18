// What the agent knows beyond its maps, to write them: the policy entries of the identities its
// node hosts (a new local endpoint's map is filled from them), its endpoints' identities (which
// maps a policy change rewrites) and every node's addresses (which ipcache entries a node's
// change or removal replaces). Bounded by what the node hosts, plus one row per node.
// A revision is planned against a draft and committed only once its operations are applied, so a
// failed apply leaves the view as the maps were.
import type { Endpoint } from '../../api/endpoints.js';
import type { Node } from '../../api/nodes.js';
import type { IdentityPolicy } from '../../api/node-policy.js';

/** An identity's complete entry set: policy_key / policy_entry hex, as the feed carries it. */
export type PolicyEntries = readonly { key: string; value: string }[];

export interface NodeAddresses {
  ipv4: string | null;
  ipv6: string | null;
}

export class NodeView {
  readonly policies = new Map<number, PolicyEntries>();
  /** This node's endpoints: endpoint ID → identity. */
  readonly endpoints = new Map<number, number>();
  readonly nodes = new Map<string, NodeAddresses>();

  /** The view a snapshot describes (every page of each listing). */
  static fromSnapshot(s: { policies: readonly IdentityPolicy[]; own: readonly Endpoint[]; nodes: readonly Pick<Node, 'name' | 'ipv4' | 'ipv6'>[] }): NodeView {
    const view = new NodeView();
    for (const p of s.policies) view.policies.set(p.identity, p.entries);
    for (const ep of s.own) view.endpoints.set(ep.id, ep.identity.id);
    for (const n of s.nodes) view.nodes.set(n.name, { ipv4: n.ipv4 ?? null, ipv6: n.ipv6 ?? null });
    return view;
  }

  draft(): ViewDraft {
    return new ViewDraft(this);
  }
}

/** Changes to a view: a value, or null for a removal. */
class Overlay<K, V> {
  readonly changes = new Map<K, V | null>();

  constructor(private readonly base: Map<K, V>) {}

  get(k: K): V | undefined {
    const c = this.changes.get(k);
    return c === undefined ? this.base.get(k) : (c ?? undefined);
  }

  set(k: K, v: V): void {
    this.changes.set(k, v);
  }

  delete(k: K): void {
    this.changes.set(k, null);
  }

  *entries(): Generator<[K, V]> {
    for (const [k, v] of this.base) if (!this.changes.has(k)) yield [k, v];
    for (const [k, v] of this.changes) if (v !== null) yield [k, v];
  }

  commit(): void {
    for (const [k, v] of this.changes) {
      if (v === null) this.base.delete(k);
      else this.base.set(k, v);
    }
    this.changes.clear();
  }
}

/** A view as a revision's events leave it, not yet committed. */
export class ViewDraft {
  readonly policies: Overlay<number, PolicyEntries>;
  readonly endpoints: Overlay<number, number>;
  readonly nodes: Overlay<string, NodeAddresses>;

  constructor(view: NodeView) {
    this.policies = new Overlay(view.policies);
    this.endpoints = new Overlay(view.endpoints);
    this.nodes = new Overlay(view.nodes);
  }

  /** Makes the changes the view's own (once the revision's operations are in the maps). */
  commit(): void {
    this.policies.commit();
    this.endpoints.commit();
    this.nodes.commit();
  }
}
