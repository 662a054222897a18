// The stores of one cluster plus the caches derived from them (compiled label filter). Lives as
// long as the Durable Object instance; everything in it can be rebuilt from SQLite.
import { clusterIdentityRange } from '../src/core/identity.js';
import { compileLabelFilter, type LabelFilter } from '../src/core/label-filter.js';
import type { ClusterConfig } from '../src/api/config.js';
import { EndpointStore } from './stores/endpoint-store.js';
import { IdentityStore } from './stores/identity-store.js';
import { IpcacheStore } from './stores/ipcache-store.js';
import { MetaStore } from './stores/meta-store.js';
import { NodeStore } from './stores/node-store.js';

/** idplane allocates cluster-scoped identities for cluster ID 0 (the clustermesh bits stay 0). */
export const CLUSTER_ID = 0;

export class ClusterState {
  readonly meta: MetaStore;
  readonly nodes: NodeStore;
  readonly identities: IdentityStore;
  readonly endpoints: EndpointStore;
  readonly ipcache: IpcacheStore;
  private cachedConfig: ClusterConfig | undefined;
  private cachedFilter: LabelFilter | undefined;
  private cachedRevision: number | undefined;

  constructor(sql: SqlStorage) {
    this.meta = new MetaStore(sql);
    this.nodes = new NodeStore(sql);
    this.identities = new IdentityStore(sql, clusterIdentityRange(CLUSTER_ID));
    this.endpoints = new EndpointStore(sql);
    this.ipcache = new IpcacheStore(sql);
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
    this.forgetCaches();
  }

  /** Drops derived caches; called when a transaction that may have changed them rolls back. */
  forgetCaches(): void {
    this.cachedConfig = undefined;
    this.cachedFilter = undefined;
    this.cachedRevision = undefined;
  }

  revision(): number {
    this.cachedRevision ??= this.meta.revision();
    return this.cachedRevision;
  }

  /** Advances the cluster revision inside the caller's transaction. */
  bumpRevision(): number {
    const next = this.revision() + 1;
    this.meta.setRevision(next);
    this.cachedRevision = next;
    return next;
  }
}
