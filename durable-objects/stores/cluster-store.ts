// The registry's `clusters` table: one row per cluster, with its Cilium cluster ID.

export type ClusterRow = {
  name: string;
  cluster_id: number;
  created_at: number;
};

export class ClusterStore {
  constructor(private readonly sql: SqlStorage) {}

  get(name: string): ClusterRow | undefined {
    return this.sql.exec<ClusterRow>('SELECT * FROM clusters WHERE name = ?', name).toArray()[0];
  }

  /** The cluster holding a non-zero cluster ID (0 is shared by every cluster that is not meshed). */
  holderOf(clusterId: number): ClusterRow | undefined {
    if (clusterId === 0) return undefined;
    return this.sql.exec<ClusterRow>('SELECT * FROM clusters WHERE cluster_id = ?', clusterId).toArray()[0];
  }

  /** Clusters after `afterName` in name order. */
  page(afterName: string | undefined, limit: number): ClusterRow[] {
    return this.sql.exec<ClusterRow>('SELECT * FROM clusters WHERE name > ? ORDER BY name LIMIT ?', afterName ?? '', limit).toArray();
  }

  /** Inserts a cluster or changes its ID, keeping its creation time. */
  upsert(name: string, clusterId: number, now: number): void {
    this.sql.exec(
      'INSERT INTO clusters (name, cluster_id, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET cluster_id = excluded.cluster_id',
      name, clusterId, now,
    );
  }

  delete(name: string): void {
    this.sql.exec('DELETE FROM clusters WHERE name = ?', name);
  }
}
