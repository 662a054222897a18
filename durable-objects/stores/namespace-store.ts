// The `namespaces` table (each namespace's labels) and `namespace_relabels` (namespaces whose
// endpoints are still moving to identities with the current labels, with how far they got).
import type { NamespaceLabels } from '../../src/core/endpoint-labels.js';

export type NamespaceRow = {
  name: string;
  labels: string;
  created_at: number;
  updated_at: number;
  relabel_pending: number;
};

export interface RelabelJob {
  namespace: string;
  after: { node: string; id: number };
}

const SELECT = `SELECT n.name, n.labels, n.created_at, n.updated_at,
  EXISTS (SELECT 1 FROM namespace_relabels r WHERE r.namespace = n.name) AS relabel_pending FROM namespaces n`;

export class NamespaceStore {
  constructor(private readonly sql: SqlStorage) {}

  get(name: string): NamespaceRow | undefined {
    return this.sql.exec<NamespaceRow>(`${SELECT} WHERE n.name = ?`, name).toArray()[0];
  }

  /** The namespace's labels; null for a namespace nobody has put. */
  labels(name: string): NamespaceLabels | null {
    const row = this.sql.exec<{ labels: string }>('SELECT labels FROM namespaces WHERE name = ?', name).toArray()[0];
    return row ? (JSON.parse(row.labels) as NamespaceLabels) : null;
  }

  page(after: string, limit: number): Iterable<NamespaceRow> {
    return this.sql.exec<NamespaceRow>(`${SELECT} WHERE n.name > ? ORDER BY n.name LIMIT ?`, after, limit);
  }

  /** Inserts or updates; returns true when the namespace is new. */
  upsert(name: string, labels: NamespaceLabels, now: number): boolean {
    const created = this.get(name) === undefined;
    this.sql.exec(
      `INSERT INTO namespaces (name, labels, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
       ON CONFLICT (name) DO UPDATE SET labels = excluded.labels, updated_at = excluded.updated_at`,
      name, JSON.stringify(labels), now,
    );
    return created;
  }

  delete(name: string): void {
    this.sql.exec('DELETE FROM namespaces WHERE name = ?', name);
  }

  /** (Re)starts moving the namespace's endpoints from the first one. */
  startRelabel(namespace: string): void {
    this.sql.exec(
      `INSERT INTO namespace_relabels (namespace, after_node, after_id) VALUES (?, '', -1)
       ON CONFLICT (namespace) DO UPDATE SET after_node = '', after_id = -1`,
      namespace,
    );
  }

  /** The relabel under way for a namespace or, with none named, the first one by name. */
  relabel(namespace?: string): RelabelJob | undefined {
    const row = this.sql
      .exec<{ namespace: string; after_node: string; after_id: number }>(
        'SELECT namespace, after_node, after_id FROM namespace_relabels WHERE ?1 IS NULL OR namespace = ?1 ORDER BY namespace LIMIT 1',
        namespace ?? null,
      )
      .toArray()[0];
    return row && { namespace: row.namespace, after: { node: row.after_node, id: row.after_id } };
  }

  hasRelabels(): boolean {
    return this.sql.exec('SELECT 1 FROM namespace_relabels LIMIT 1').toArray().length > 0;
  }

  advanceRelabel(namespace: string, after: { node: string; id: number }): void {
    this.sql.exec('UPDATE namespace_relabels SET after_node = ?, after_id = ? WHERE namespace = ?', after.node, after.id, namespace);
  }

  finishRelabel(namespace: string): void {
    this.sql.exec('DELETE FROM namespace_relabels WHERE namespace = ?', namespace);
  }
}
