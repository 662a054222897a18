// Key/value rows of the `meta` table: the cluster ID, the policy revision and the per-cluster
// configuration. (The cluster revision is the feed's latest: see FeedStore.latestRevision.)
import { DEFAULT_LABEL_FILTER } from '../../src/core/label-filter.js';
import type { ClusterConfig } from '../../src/api/config.js';

export const DEFAULT_CONFIG: ClusterConfig = {
  'label-filter': [...DEFAULT_LABEL_FILTER],
  // Cilium's --identity-gc-interval default (15 min) stands in for the grace period.
  'identity-gc-grace-seconds': 900,
  'identity-quarantine-seconds': 900,
  'feed-horizon-revisions': 100_000,
  // Generous for any real node (pods with new label sets), yet one node token cannot use up the
  // cluster's 65k identities in seconds.
  'node-identity-rate': 100,
  'node-identity-burst': 2000,
  // Well under a CNI ADD's patience, well over a healthy node's ack (milliseconds).
  'wait-for-nodes-timeout': 5,
  // Above an agent's long-poll round and reconnect backoff; agents on a WebSocket are live while it is open.
  'node-liveness-seconds': 15,
};

export class MetaStore {
  constructor(private readonly sql: SqlStorage) {}

  private get(key: string): string | undefined {
    return this.sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0]?.value;
  }

  private put(key: string, value: string): void {
    this.sql.exec('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', key, value);
  }

  /**
   * The Cilium cluster ID the registry gave this cluster; undefined until the cluster is put (a
   * never-provisioned object, data from before clusters were explicit, or a deleted cluster).
   */
  clusterId(): number | undefined {
    const raw = this.get('cluster-id');
    return raw === undefined ? undefined : Number(raw);
  }

  setClusterId(clusterId: number): void {
    this.put('cluster-id', String(clusterId));
  }

  /** The policy revision: Cilium's policy repository revision, starting at 1; bumped by every policy change. */
  policyRevision(): number {
    return Number(this.get('policy-revision') ?? 1);
  }

  setPolicyRevision(revision: number): void {
    this.put('policy-revision', String(revision));
  }

  /** STABLE FORMAT: the config row is the ClusterConfig JSON; missing fields take defaults. */
  config(): ClusterConfig {
    const raw = this.get('config');
    return raw ? { ...DEFAULT_CONFIG, ...(JSON.parse(raw) as Partial<ClusterConfig>) } : { ...DEFAULT_CONFIG };
  }

  setConfig(config: ClusterConfig): void {
    this.put('config', JSON.stringify(config));
  }
}
