// The `nodes` table.

export type NodeRow = {
  name: string;
  ipv4: string | null;
  ipv6: string | null;
  created_at: number;
  updated_at: number;
  endpoints: number;
};

const SELECT = `SELECT n.name, n.ipv4, n.ipv6, n.created_at, n.updated_at,
  (SELECT count(*) FROM endpoints e WHERE e.node = n.name) AS endpoints FROM nodes n`;

export class NodeStore {
  constructor(private readonly sql: SqlStorage) {}

  get(name: string): NodeRow | undefined {
    return this.sql.exec<NodeRow>(`${SELECT} WHERE n.name = ?`, name).toArray()[0];
  }

  exists(name: string): boolean {
    return this.sql.exec('SELECT 1 FROM nodes WHERE name = ?', name).toArray().length > 0;
  }

  list(): NodeRow[] {
    return this.sql.exec<NodeRow>(`${SELECT} ORDER BY n.name`).toArray();
  }

  /** Inserts or updates; returns true when the node is new. */
  upsert(name: string, ipv4: string | null, ipv6: string | null, now: number): boolean {
    const created = !this.exists(name);
    this.sql.exec(
      `INSERT INTO nodes (name, ipv4, ipv6, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET ipv4 = excluded.ipv4, ipv6 = excluded.ipv6, updated_at = excluded.updated_at`,
      name, ipv4, ipv6, now, now,
    );
    return created;
  }

  delete(name: string): void {
    this.sql.exec('DELETE FROM nodes WHERE name = ?', name);
  }
}
