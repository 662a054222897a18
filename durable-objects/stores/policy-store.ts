// The `policies` and `cidr_identities` tables: stored CNP/CCNP objects with their rule model, and
// the local-scope identities of the prefixes policies name.
import type { PolicyDocument } from '../../src/core/policy/rule.js';
import { LOCAL_IDENTITY_SCOPE } from '../../src/core/policy/engine.js';

export type PolicyRow = {
  ref: string;
  kind: string;
  namespace: string | null;
  name: string;
  object: string;
  rules: string;
  created_at: number;
  updated_at: number;
};

/** Page position: (namespace, name) in order, '' for a CCNP's namespace. */
export interface PolicyCursor {
  namespace: string;
  name: string;
}

export class PolicyStore {
  constructor(private readonly sql: SqlStorage) {}

  get(ref: string): PolicyRow | undefined {
    return this.sql.exec<PolicyRow>('SELECT * FROM policies WHERE ref = ?', ref).toArray()[0];
  }

  upsert(row: PolicyRow): void {
    this.sql.exec(
      `INSERT INTO policies (ref, kind, namespace, name, object, rules, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (ref) DO UPDATE SET object = excluded.object, rules = excluded.rules, updated_at = excluded.updated_at`,
      row.ref, row.kind, row.namespace, row.name, row.object, row.rules, row.created_at, row.updated_at,
    );
  }

  delete(ref: string): void {
    this.sql.exec('DELETE FROM policies WHERE ref = ?', ref);
  }

  /** Policies of one kind (one namespace when given) after `after`, in (namespace, name) order. */
  page(kind: string, namespace: string | undefined, after: PolicyCursor | undefined, limit: number): Iterable<PolicyRow> {
    const a = after ?? { namespace: '', name: '' };
    return this.sql.exec<PolicyRow>(
      `SELECT * FROM policies WHERE kind = ?1 AND (?2 IS NULL OR namespace = ?2)
         AND (coalesce(namespace, '') > ?3 OR (coalesce(namespace, '') = ?3 AND name > ?4))
       ORDER BY coalesce(namespace, ''), name LIMIT ?5`,
      kind, namespace ?? null, a.namespace, a.name, limit,
    );
  }

  /** Every stored rule model, for rebuilding the engine. */
  allDocuments(): PolicyDocument[] {
    return this.sql.exec<{ rules: string }>('SELECT rules FROM policies ORDER BY ref').toArray().map((r) => JSON.parse(r.rules) as PolicyDocument);
  }

  cidrIdentities(): { prefix: string; id: number }[] {
    return this.sql.exec<{ prefix: string; id: number }>('SELECT prefix, id FROM cidr_identities ORDER BY id').toArray();
  }

  /** CIDR identities numbered above `afterId`, in number order. */
  cidrPage(afterId: number, limit: number): Iterable<{ prefix: string; id: number }> {
    return this.sql.exec<{ prefix: string; id: number }>('SELECT prefix, id FROM cidr_identities WHERE id > ? ORDER BY id LIMIT ?', afterId, limit);
  }

  /** The identity of a prefix a policy names (canonical text), if any. */
  cidrIdentityOf(prefix: string): number | undefined {
    return this.sql.exec<{ id: number }>('SELECT id FROM cidr_identities WHERE prefix = ?', prefix).toArray()[0]?.id;
  }

  cidrIdentity(id: number): string | undefined {
    return this.sql.exec<{ prefix: string }>('SELECT prefix FROM cidr_identities WHERE id = ?', id).toArray()[0]?.prefix;
  }

  /** Allocates the lowest free local-scope number for a prefix. */
  allocateCidr(prefix: string): number {
    const { id } = this.sql
      .exec<{ id: number }>(
        `SELECT coalesce((SELECT min(c.id + 1) FROM cidr_identities c
           WHERE NOT EXISTS (SELECT 1 FROM cidr_identities d WHERE d.id = c.id + 1)
             AND EXISTS (SELECT 1 FROM cidr_identities WHERE id = ?1)), ?1) AS id`,
        LOCAL_IDENTITY_SCOPE | 1,
      )
      .one();
    this.sql.exec('INSERT INTO cidr_identities (prefix, id) VALUES (?, ?)', prefix, id);
    return id;
  }

  /** Frees a prefix's identity; returns its number. */
  freeCidr(prefix: string): number | undefined {
    return this.sql.exec<{ id: number }>('DELETE FROM cidr_identities WHERE prefix = ? RETURNING id', prefix).toArray()[0]?.id;
  }
}
