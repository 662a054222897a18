// The `nodes` table: addresses, the node token's hash, the lease and the last heartbeat.
import { tunnelIpOf } from '../../src/core/ip.js';

export type NodeRow = {
  name: string;
  ipv4: string | null;
  ipv6: string | null;
  created_at: number;
  updated_at: number;
  lease_seconds: number;
  lease_expires_at: number | null;
  last_heartbeat: number | null;
  applied_revision: number;
  /** Set while the node is being removed, batch by batch (DELETE or lease expiry). */
  deleting_since: number | null;
  endpoints: number;
};

const SELECT = `SELECT n.name, n.ipv4, n.ipv6, n.created_at, n.updated_at, n.lease_seconds, n.lease_expires_at,
  n.last_heartbeat, n.applied_revision, n.deleting_since, (SELECT count(*) FROM endpoints e WHERE e.node = n.name) AS endpoints FROM nodes n`;

export interface NodeUpsert {
  name: string;
  ipv4: string | null;
  ipv6: string | null;
  /** The lease to set; undefined keeps an existing node's lease (0, no lease, for a new node). */
  leaseSeconds: number | undefined;
  /** A new token hash, or undefined to keep the current one. */
  tokenHash: string | undefined;
}

export class NodeStore {
  constructor(private readonly sql: SqlStorage) {}

  get(name: string): NodeRow | undefined {
    return this.sql.exec<NodeRow>(`${SELECT} WHERE n.name = ?`, name).toArray()[0];
  }

  /** The node's tunnel endpoint address (tunnelIpOf) and whether it is being removed, in one read; undefined for an unknown node. */
  addressAndState(name: string): { hostIp: string | null; deleting: boolean } | undefined {
    const row = this.sql
      .exec<{ ipv4: string | null; ipv6: string | null; deleting: number }>('SELECT ipv4, ipv6, deleting_since IS NOT NULL AS deleting FROM nodes WHERE name = ?', name)
      .toArray()[0];
    return row === undefined ? undefined : { hostIp: tunnelIpOf(row), deleting: row.deleting === 1 };
  }

  exists(name: string): boolean {
    return this.sql.exec('SELECT 1 FROM nodes WHERE name = ?', name).toArray().length > 0;
  }

  /** The stored token hash: undefined for an unknown node, null for a node without a token. */
  tokenHash(name: string): string | null | undefined {
    return this.sql.exec<{ token_hash: string | null }>('SELECT token_hash FROM nodes WHERE name = ?', name).toArray()[0]?.token_hash;
  }

  /** One page in name order after `after`. */
  page(after: string | undefined, limit: number): Iterable<NodeRow> {
    return this.sql.exec<NodeRow>(`${SELECT} WHERE n.name > ? ORDER BY n.name LIMIT ?`, after ?? '', limit);
  }

  isDeleting(name: string): boolean {
    return this.sql.exec('SELECT 1 FROM nodes WHERE name = ? AND deleting_since IS NOT NULL', name).toArray().length > 0;
  }

  /**
   * Marks a node for removal: its token stops working and its lease no longer runs (the removal
   * is under way). Keeps the first mark's time.
   */
  markDeleting(name: string, now: number): void {
    this.sql.exec(
      'UPDATE nodes SET deleting_since = coalesce(deleting_since, ?), token_hash = NULL, lease_expires_at = NULL WHERE name = ?',
      now, name,
    );
  }

  /** Marks those of `names` whose lease ran out at or before `now` as markDeleting does; returns them. */
  markExpired(names: readonly string[], now: number): string[] {
    return this.sql
      .exec<{ name: string }>(
        `UPDATE nodes SET deleting_since = ?1, token_hash = NULL, lease_expires_at = NULL
         WHERE name IN (SELECT value FROM json_each(?2)) AND lease_expires_at <= ?1 RETURNING name`,
        now, JSON.stringify(names),
      )
      .toArray()
      .map((r) => r.name)
      .sort();
  }

  /** Nodes being removed, in name order after `after`. */
  deleting(after: string | undefined, limit: number): string[] {
    return this.sql
      .exec<{ name: string }>('SELECT name FROM nodes WHERE deleting_since IS NOT NULL AND name > ? ORDER BY name LIMIT ?', after ?? '', limit)
      .toArray()
      .map((r) => r.name);
  }

  /** When the oldest pending removal began, if any. */
  oldestDeletion(): number | undefined {
    return this.sql.exec<{ t: number | null }>('SELECT min(deleting_since) AS t FROM nodes').one().t ?? undefined;
  }

  /** Inserts or updates a node, (re)starting the lease in force; returns true when the node is new. */
  upsert(n: NodeUpsert, now: number): boolean {
    const created = !this.exists(n.name);
    const lease = n.leaseSeconds ?? null;
    this.sql.exec(
      `INSERT INTO nodes (name, ipv4, ipv6, created_at, updated_at, token_hash, lease_seconds, lease_expires_at)
       VALUES (?1, ?2, ?3, ?4, ?4, ?5, coalesce(?6, 0), CASE WHEN ?6 > 0 THEN ?4 + ?6 * 1000 END)
       ON CONFLICT (name) DO UPDATE SET ipv4 = excluded.ipv4, ipv6 = excluded.ipv6, updated_at = excluded.updated_at,
         token_hash = coalesce(excluded.token_hash, nodes.token_hash),
         lease_seconds = coalesce(?6, nodes.lease_seconds),
         lease_expires_at = CASE WHEN coalesce(?6, nodes.lease_seconds) > 0 THEN ?4 + coalesce(?6, nodes.lease_seconds) * 1000 END`,
      n.name, n.ipv4, n.ipv6, now, n.tokenHash ?? null, lease,
    );
    return created;
  }

  /** The node's identity-allocation bucket as last stored: null tokens when never drawn from. */
  identityBucket(name: string): { tokens: number | null; at: number | null } {
    const row = this.sql.exec<{ tokens: number | null; at: number | null }>('SELECT identity_tokens AS tokens, identity_tokens_at AS at FROM nodes WHERE name = ?', name).toArray()[0];
    return row ?? { tokens: null, at: null };
  }

  setIdentityBucket(name: string, tokens: number, at: number): void {
    this.sql.exec('UPDATE nodes SET identity_tokens = ?, identity_tokens_at = ? WHERE name = ?', tokens, at, name);
  }

  /** Records a heartbeat: renews the lease and stores the revision the node has applied. */
  heartbeat(name: string, appliedRevision: number, now: number): void {
    this.sql.exec(
      `UPDATE nodes SET last_heartbeat = ?1, applied_revision = ?2,
         lease_expires_at = CASE WHEN lease_seconds > 0 THEN ?1 + lease_seconds * 1000 ELSE NULL END
       WHERE name = ?3`,
      now, appliedRevision, name,
    );
  }

  /** Nodes whose lease ran out at or before `now`, in name order after `after`. */
  expired(now: number, after: string | undefined, limit: number): string[] {
    return this.sql
      .exec<{ name: string }>('SELECT name FROM nodes WHERE lease_expires_at <= ? AND name > ? ORDER BY name LIMIT ?', now, after ?? '', limit)
      .toArray()
      .map((r) => r.name);
  }

  nextLeaseExpiry(): number | undefined {
    return this.sql.exec<{ t: number | null }>('SELECT min(lease_expires_at) AS t FROM nodes').one().t ?? undefined;
  }

  delete(name: string): void {
    this.sql.exec('DELETE FROM nodes WHERE name = ?', name);
  }

  isEmpty(): boolean {
    return this.sql.exec('SELECT 1 FROM nodes LIMIT 1').toArray().length === 0;
  }
}
