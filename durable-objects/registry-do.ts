// RegistryDO: the one Durable Object that knows which clusters exist and their cluster IDs. The
// worker asks it about a cluster it has not cached; putting a cluster provisions the cluster's
// own object (its ID numbers the identities) and deleting one retires it. Mutations run one at a
// time: each awaits the cluster's object between its checks and its write.
import { DurableObject } from 'cloudflare:workers';
import type { Cluster, ClusterList } from '../src/api/clusters.js';
import { DomainError, type Result } from '../src/core/errors.js';
import { decodeCursor, takePage } from './paging.js';
import { toCluster } from './models.js';
import { migrate, REGISTRY_MIGRATIONS } from './schema.js';
import { ClusterStore } from './stores/cluster-store.js';

/** The name of the registry's one instance. */
export const REGISTRY_NAME = 'registry';

const DEFAULT_LIMIT = 1000;

function failure(code: 'cluster-not-found' | 'cluster-id-taken', message: string): Result<never> {
  return { ok: false, error: { code, message } };
}

export class RegistryDO extends DurableObject<Env> {
  private readonly clusters: ClusterStore;
  /** The tail of the mutation queue. */
  private mutations: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, REGISTRY_MIGRATIONS);
    this.clusters = new ClusterStore(ctx.storage.sql);
  }

  private serialised<T>(mutation: () => Promise<T>): Promise<T> {
    const run = this.mutations.then(mutation, mutation);
    this.mutations = run.catch(() => undefined);
    return run;
  }

  async getCluster(name: string): Promise<Result<Cluster>> {
    const row = this.clusters.get(name);
    return row ? { ok: true, value: toCluster(row) } : failure('cluster-not-found', `cluster ${name} not found`);
  }

  async listClusters(args: { limit?: number; cursor?: string }): Promise<Result<ClusterList>> {
    const limit = args.limit ?? DEFAULT_LIMIT;
    let after: string | undefined;
    try {
      after = args.cursor === undefined ? undefined : decodeCursor(args.cursor, (v): v is string => typeof v === 'string');
    } catch (e) {
      if (e instanceof DomainError) return { ok: false, error: e.toBody() };
      throw e;
    }
    const { items, ...rest } = takePage(this.clusters.page(after, limit + 1), limit, toCluster, (row) => row.name);
    return { ok: true, value: { clusters: items, ...rest } };
  }

  /** Creates a cluster or changes its ID; `created` tells which. */
  async putCluster(name: string, clusterId: number): Promise<Result<{ created: boolean; cluster: Cluster }>> {
    return this.serialised(async () => {
      const holder = this.clusters.holderOf(clusterId);
      if (holder && holder.name !== name) return failure('cluster-id-taken', `cluster ID ${clusterId} belongs to cluster ${holder.name}`);
      // The cluster's object first: it refuses an ID its identities disagree with.
      const provisioned = await this.env.CLUSTER.getByName(name).provision(clusterId);
      if (!provisioned.ok) return provisioned;
      const created = this.clusters.get(name) === undefined;
      this.clusters.upsert(name, clusterId, Date.now());
      return { ok: true, value: { created, cluster: toCluster(this.clusters.get(name)!) } };
    });
  }

  async deleteCluster(name: string): Promise<Result<Cluster>> {
    return this.serialised(async () => {
      const row = this.clusters.get(name);
      if (!row) return failure('cluster-not-found', `cluster ${name} not found`);
      const retired = await this.env.CLUSTER.getByName(name).retire();
      if (!retired.ok) return retired;
      this.clusters.delete(name);
      return { ok: true, value: toCluster(row) };
    });
  }
}
