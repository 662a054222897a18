// The `ipcache` table: host prefix → identity, for every endpoint address in the cluster; read
// together with the prefixes of CIDR identities (`cidr_identities`) as the listed ipcache.

/** An entry of the listed ipcache: an endpoint's address, or a CIDR identity's prefix (no node, no endpoint). */
export type IpcacheRow = {
  prefix: string;
  identity: number;
  node: string | null;
  endpoint: number | null;
  /** The node's addresses: its tunnel endpoint is tunnelIpOf of them. */
  node_ipv4: string | null;
  node_ipv6: string | null;
};

export class IpcacheStore {
  constructor(private readonly sql: SqlStorage) {}

  /** The endpoint holding a prefix, if any. */
  holder(prefix: string): { node: string; endpoint: number } | undefined {
    return this.sql.exec<{ node: string; endpoint: number }>('SELECT node, endpoint FROM ipcache WHERE prefix = ?', prefix).toArray()[0];
  }

  /**
   * Who has an address already, in one read: the endpoint whose prefix it is, else the node whose
   * own address it is; both undefined when it is free.
   */
  claimOf(prefix: string, ip: string): { holder?: { node: string; endpoint: number }; node?: string } {
    const row = this.sql
      .exec<{ ep_node: string | null; ep_id: number | null; node_name: string | null }>(
        `SELECT c.node AS ep_node, c.endpoint AS ep_id,
           (SELECT name FROM nodes WHERE ipv4 = ?2 UNION SELECT name FROM nodes WHERE ipv6 = ?2 LIMIT 1) AS node_name
         FROM (SELECT 1) LEFT JOIN ipcache c ON c.prefix = ?1`,
        prefix, ip,
      )
      .one();
    return {
      ...(row.ep_node !== null && row.ep_id !== null ? { holder: { node: row.ep_node, endpoint: row.ep_id } } : {}),
      ...(row.node_name !== null ? { node: row.node_name } : {}),
    };
  }

  insert(prefix: string, identity: number, node: string, endpoint: number): void {
    this.sql.exec('INSERT INTO ipcache (prefix, identity, node, endpoint) VALUES (?, ?, ?, ?)', prefix, identity, node, endpoint);
  }

  setEndpointIdentity(node: string, endpoint: number, identity: number): void {
    this.sql.exec('UPDATE ipcache SET identity = ? WHERE node = ? AND endpoint = ?', identity, node, endpoint);
  }

  /** The prefixes of one node's endpoints, with their identities. */
  onNode(node: string): { prefix: string; identity: number; endpoint: number }[] {
    return this.sql
      .exec<{ prefix: string; identity: number; endpoint: number }>('SELECT prefix, identity, endpoint FROM ipcache WHERE node = ? ORDER BY prefix', node)
      .toArray();
  }

  deleteEndpoint(node: string, endpoint: number): void {
    this.sql.exec('DELETE FROM ipcache WHERE node = ? AND endpoint = ?', node, endpoint);
  }

  /**
   * One page in prefix order of the effective entries, with the addresses of each endpoint's node:
   * endpoint addresses and CIDR identities' prefixes, where an endpoint's address wins over the
   * same prefix named by a policy (Cilium: a CIDR-generated entry yields to every other source).
   */
  page(after: string | undefined, limit: number): Iterable<IpcacheRow> {
    return this.sql
      .exec<IpcacheRow>(
        `SELECT c.prefix, c.identity, c.node, c.endpoint, n.ipv4 AS node_ipv4, n.ipv6 AS node_ipv6
         FROM ipcache c LEFT JOIN nodes n ON n.name = c.node
         WHERE c.prefix > ?1
         UNION ALL
         SELECT d.prefix, d.id, NULL, NULL, NULL, NULL
         FROM cidr_identities d
         WHERE d.prefix > ?1 AND NOT EXISTS (SELECT 1 FROM ipcache e WHERE e.prefix = d.prefix)
         ORDER BY 1 LIMIT ?2`,
        after ?? '', limit,
      );
  }
}
