// The stores of one cluster plus the caches derived from them (compiled label filter). Lives as
// long as the Durable Object instance; everything in it can be rebuilt from SQLite.
import { clusterIdentityRange } from '../src/core/identity.js';
import { compileLabelFilter, type LabelFilter } from '../src/core/label-filter.js';
import type { ClusterConfig } from '../src/api/config.js';
import type { FeedBatch, FeedEvent } from '../src/core/feed.js';
import { EndpointStore } from './stores/endpoint-store.js';
import { FeedStore } from './stores/feed-store.js';
import { IdentityStore } from './stores/identity-store.js';
import { IpcacheStore } from './stores/ipcache-store.js';
import { MetaStore } from './stores/meta-store.js';
import { NodeStore } from './stores/node-store.js';

const COMPACT_EVERY = 64;

export class ClusterState {
  readonly meta: MetaStore;
  readonly nodes: NodeStore;
  readonly endpoints: EndpointStore;
  readonly ipcache: IpcacheStore;
  readonly feed: FeedStore;
  /** Events of the transaction under way, written with its revision by bumpRevision. */
  private pending: FeedEvent[] = [];
  /** Batches written by the transaction under way, handed to subscribers once it commits. */
  private written: FeedBatch[] = [];
  private cachedConfig: ClusterConfig | undefined;
  private cachedFilter: LabelFilter | undefined;
  private cachedRevision: number | undefined;
  private cachedClusterId: number | undefined;
  /** The identity store of one cluster ID: its range follows the ID stored in meta. */
  private identityStore: { clusterId: number; store: IdentityStore } | undefined;

  constructor(private readonly sql: SqlStorage) {
    this.meta = new MetaStore(sql);
    this.nodes = new NodeStore(sql);
    this.endpoints = new EndpointStore(sql);
    this.ipcache = new IpcacheStore(sql);
    this.feed = new FeedStore(sql);
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

  /** Records a feed event of the current transaction. */
  emit(event: FeedEvent): void {
    this.pending.push(event);
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
    this.pending = [];
    this.written = [];
  }

  /** Takes the batches of the transaction that just committed. */
  takeCommitted(): FeedBatch[] {
    const out = this.written;
    this.written = [];
    return out;
  }

  revision(): number {
    this.cachedRevision ??= this.meta.revision();
    return this.cachedRevision;
  }

  /**
   * Commits the transaction's events to the feed under the next cluster revision, inside the
   * caller's transaction, and compacts the feed to its horizon now and then.
   */
  bumpRevision(now: number): number {
    const next = this.revision() + 1;
    this.meta.setRevision(next);
    this.feed.append(next, this.pending, now);
    this.written.push({ revision: next, events: this.pending, 'committed-at': now });
    this.pending = [];
    this.cachedRevision = next;
    if (next % COMPACT_EVERY === 0) this.feed.compact(next - this.config()['feed-horizon-revisions']);
    return next;
  }
}
