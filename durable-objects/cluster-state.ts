// The stores of one cluster plus the caches derived from them (compiled label filter). Lives as
// long as the Durable Object instance; everything in it can be rebuilt from SQLite.
import { clusterIdentityRange } from '../src/core/identity.js';
import { compileLabelFilter, type LabelFilter } from '../src/core/label-filter.js';
import type { ClusterConfig } from '../src/api/config.js';
import type { IdentityPolicy } from '../src/api/node-policy.js';
import type { FeedEvent, FeedTargets } from '../src/core/feed.js';
import { PolicyEngine, type PolicyTxn } from '../src/core/policy/engine.js';
import { cidrIdentityLabels } from '../src/core/policy/peers.js';
import { EndpointStore } from './stores/endpoint-store.js';
import { FeedStore } from './stores/feed-store.js';
import { IdentityStore } from './stores/identity-store.js';
import { IpcacheStore } from './stores/ipcache-store.js';
import { MetaStore } from './stores/meta-store.js';
import { NamespaceStore } from './stores/namespace-store.js';
import { NodeStore } from './stores/node-store.js';
import { PolicyStore } from './stores/policy-store.js';
import { emitPolicyChanges, identityPolicyOf } from './ops/policy-events.js';

const COMPACT_EVERY = 64;

/**
 * No feed row or message is larger than this: a row stays far below SQLite's row limit, and a
 * chunk fits one WebSocket message. A revision whose events are larger spans several chunks.
 */
export const MAX_FEED_BATCH_BYTES = 1024 * 1024;
/** A chunk's events and targets at most: the rest of a row or message is its envelope. */
export const MAX_FEED_CHUNK_BYTES = MAX_FEED_BATCH_BYTES - 1024;
/** Work that emits many events commits a revision once this much is pending (see bumpRevisionIfFull). */
const FEED_BATCH_SPLIT_BYTES = 512 * 1024;

/** A chunk committed by the transaction under way, handed to WebSocket subscribers once it commits. */
export interface CommittedChunk {
  revision: number;
  chunk: number;
  last: boolean;
  events: FeedEvent[];
  targets: FeedTargets | null;
  committedAt: number;
}

/** Which nodes an event goes to (all when not given). */
export interface EmitOptions {
  nodes?: readonly string[];
}

/** Where the node policy snapshot reads an identity's policy (undefined: none of its own). */
export interface PolicySource {
  policyOf(identity: number): IdentityPolicy | undefined;
}


export class ClusterState {
  readonly meta: MetaStore;
  readonly nodes: NodeStore;
  readonly endpoints: EndpointStore;
  readonly ipcache: IpcacheStore;
  readonly feed: FeedStore;
  readonly namespaces: NamespaceStore;
  /** The per-identity policy the node snapshot lists: the policy engine's (tests may stand in a table). */
  policySnapshot: PolicySource = { policyOf: (identity) => identityPolicyOf(this, identity) };
  readonly policies: PolicyStore;
  /** Policies, identities and their computed entries: derived from SQLite, rebuilt at start. */
  readonly engine: PolicyEngine;
  /** The engine's unit of the transaction under way (see `policy`). */
  private policyTxn: PolicyTxn | undefined;
  private cachedPolicyRevision: number | undefined;
  /** Events of the transaction under way, written with its revision by bumpRevision. */
  private pending: FeedEvent[] = [];
  /** The same events as JSON, and their total length. */
  private pendingJson: string[] = [];
  /** The nodes of each targeted pending event (undefined: every node). */
  private pendingNodes: (string[] | undefined)[] = [];
  private pendingBytes = 0;
  /** Chunks written by the transaction under way, handed to subscribers once it commits. */
  private written: CommittedChunk[] = [];
  private cachedConfig: ClusterConfig | undefined;
  private cachedFilter: LabelFilter | undefined;
  private cachedRevision: number | undefined;
  private cachedClusterId: number | undefined;
  /** The identity store of one cluster ID: its range follows the ID stored in meta. */
  private identityStore: { clusterId: number; store: IdentityStore } | undefined;

  constructor(
    private readonly sql: SqlStorage,
    /** The cluster's name (its object's), as the `io.cilium.k8s.policy.cluster` label has it. */
    readonly clusterName: string,
  ) {
    this.meta = new MetaStore(sql);
    this.nodes = new NodeStore(sql);
    this.endpoints = new EndpointStore(sql);
    this.ipcache = new IpcacheStore(sql);
    this.feed = new FeedStore(sql);
    this.namespaces = new NamespaceStore(sql);
    this.policies = new PolicyStore(sql);
    // Rebuilt from SQLite in one bulk load (no undo log: nothing to roll back at start).
    const identities: (readonly [number, readonly string[]])[] = this.identities.allLabels().map(({ id, labels }) => [id, labels] as const);
    for (const { prefix, id } of this.policies.cidrIdentities()) identities.push([id, cidrIdentityLabels(prefix)]);
    this.engine = PolicyEngine.load({ clusterName }, this.policies.allDocuments(), identities);
  }

  /**
   * Runs `fn` (which wraps the storage transaction) inside one engine unit: when the storage
   * transaction rolls back, the engine's writes are undone with it. Units nest as storage
   * transactions do (savepoints).
   */
  inPolicyUnit<T>(fn: () => T): T {
    const outer = this.policyTxn;
    return this.engine.transaction((tx) => {
      this.policyTxn = tx;
      try {
        return fn();
      } finally {
        this.policyTxn = outer;
      }
    }).value;
  }

  /** The engine's unit of the transaction under way; the engine cannot be written outside one. */
  get policy(): PolicyTxn {
    if (!this.policyTxn) throw new Error('policy engine written outside a transaction');
    return this.policyTxn;
  }

  policyRevision(): number {
    this.cachedPolicyRevision ??= this.meta.policyRevision();
    return this.cachedPolicyRevision;
  }

  bumpPolicyRevision(): number {
    const next = this.policyRevision() + 1;
    this.meta.setPolicyRevision(next);
    this.cachedPolicyRevision = next;
    return next;
  }

  /** The cluster ID the registry gave this cluster; undefined while the cluster is not put. */
  clusterId(): number | undefined {
    this.cachedClusterId ??= this.meta.clusterId();
    return this.cachedClusterId;
  }

  setClusterId(clusterId: number): void {
    this.meta.setClusterId(clusterId);
    this.cachedClusterId = clusterId;
  }

  /** Identities are allocated in the range of the cluster ID (Cilium: bits 16–23 carry it). */
  get identities(): IdentityStore {
    const clusterId = this.clusterId() ?? 0;
    if (this.identityStore?.clusterId !== clusterId) {
      this.identityStore = { clusterId, store: new IdentityStore(this.sql, clusterIdentityRange(clusterId)) };
    }
    return this.identityStore.store;
  }

  /**
   * Records a feed event of the current transaction; with `nodes`, only those nodes receive it
   * (admin and reader principals see every event).
   */
  emit(event: FeedEvent, options: EmitOptions = {}): void {
    const json = JSON.stringify(event);
    const nodes = options.nodes === undefined ? undefined : [...options.nodes];
    this.pending.push(event);
    this.pendingJson.push(json);
    this.pendingNodes.push(nodes);
    this.pendingBytes += json.length + 1 + (nodes === undefined ? 0 : targetBytes(nodes));
  }

  /** Records a feed event meant only for `nodes` (policy events: the nodes hosting the identity). */
  emitTo(event: FeedEvent, nodes: readonly string[]): void {
    if (nodes.length > 0) this.emit(event, { nodes });
  }

  /** Nodes that gained their first endpoint of an identity in this transaction (see policy-events.ts). */
  private joined: { node: string; identity: number }[] = [];

  noteJoined(node: string, identity: number): void {
    this.joined.push({ node, identity });
  }

  /** Whether events wait for a revision in the transaction under way. */
  hasPendingEvents(): boolean {
    return this.pending.length > 0;
  }

  config(): ClusterConfig {
    this.cachedConfig ??= this.meta.config();
    return this.cachedConfig;
  }

  /** The compiled identity-relevant label filter of the current config. */
  labelFilter(): LabelFilter {
    this.cachedFilter ??= compileLabelFilter(this.config()['label-filter']);
    return this.cachedFilter;
  }

  setConfig(config: ClusterConfig): void {
    this.meta.setConfig(config);
    this.cachedConfig = undefined;
    this.cachedFilter = undefined;
  }

  /** Drops derived caches; called when a transaction that may have changed them rolls back. */
  forgetCaches(): void {
    this.cachedConfig = undefined;
    this.cachedFilter = undefined;
    this.cachedRevision = undefined;
    this.cachedClusterId = undefined;
    this.cachedPolicyRevision = undefined;
    this.joined = [];
    this.clearPending();
    this.written = [];
  }

  /** Takes the chunks of the transaction that just committed. */
  takeCommitted(): CommittedChunk[] {
    const out = this.written;
    this.written = [];
    return out;
  }

  revision(): number {
    this.cachedRevision ??= this.feed.latestRevision();
    return this.cachedRevision;
  }

  private clearPending(): void {
    this.pending = [];
    this.pendingJson = [];
    this.pendingNodes = [];
    this.pendingBytes = 0;
  }

  /**
   * Commits the transaction's events to the feed under the next cluster revision, inside the
   * caller's transaction, in as many chunks of at most MAX_FEED_CHUNK_BYTES as they need, and
   * compacts the feed to its horizon now and then. One event over that size is a bug in the
   * caller: it throws, rolling back.
   */
  bumpRevision(now: number): number {
    if (this.policyTxn) emitPolicyChanges(this, this.policyTxn.takeChanged(), this.joined);
    this.joined = [];
    const next = this.revision() + 1;
    const chunks = splitIntoChunks(this.pendingJson, this.pendingNodes);
    chunks.forEach(({ from, to, targets }, chunk) => {
      const last = chunk === chunks.length - 1;
      this.feed.append({ revision: next, chunk, last, events: `[${this.pendingJson.slice(from, to).join(',')}]`, targets: targets && JSON.stringify(targets) }, now);
      this.written.push({ revision: next, chunk, last, events: this.pending.slice(from, to), targets, committedAt: now });
    });
    this.clearPending();
    this.cachedRevision = next;
    if (next % COMPACT_EVERY === 0) this.feed.compact(next - this.config()['feed-horizon-revisions']);
    return next;
  }

  /**
   * Commits the pending events under their own revision once they reach half the batch limit:
   * for work that emits many independent events in one transaction, between two of them.
   */
  bumpRevisionIfFull(now: number): void {
    if (this.pendingBytes >= FEED_BATCH_SPLIT_BYTES) this.bumpRevision(now);
  }
}

/** What a targeted event adds to its chunk's `targets`: `[i,["n1",…]],`. */
function targetBytes(nodes: readonly string[]): number {
  return JSON.stringify(nodes).length + 16;
}

/**
 * Splits a revision's events, in order, into chunks whose events and targets stay within
 * MAX_FEED_CHUNK_BYTES; at least one chunk, empty when there are no events.
 */
function splitIntoChunks(json: readonly string[], nodes: readonly (string[] | undefined)[]): { from: number; to: number; targets: FeedTargets | null }[] {
  const chunks: { from: number; to: number; targets: FeedTargets | null }[] = [];
  let from = 0;
  let bytes = 2;
  let targets: FeedTargets = [];
  const close = (to: number) => {
    chunks.push({ from, to, targets: targets.length > 0 ? targets : null });
    from = to;
    bytes = 2;
    targets = [];
  };
  json.forEach((event, i) => {
    const target = nodes[i];
    const size = event.length + 1 + (target === undefined ? 0 : targetBytes(target));
    if (size + 2 > MAX_FEED_CHUNK_BYTES) throw new Error(`feed event of ${size} bytes is over ${MAX_FEED_CHUNK_BYTES}`);
    if (bytes + size > MAX_FEED_CHUNK_BYTES) close(i);
    bytes += size;
    if (target !== undefined) targets.push([i - from, target]);
  });
  close(json.length);
  return chunks;
}
