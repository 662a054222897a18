// The `endpoints` table: node-scoped endpoints, looked up by any of Cilium's ID forms.
import { formatAttachmentId, MAX_ENDPOINT_ID, MIN_ENDPOINT_ID, type EndpointRef } from '../../src/core/endpoint-ref.js';

export type EndpointRow = {
  node: string;
  id: number;
  attachment_id: string | null;
  container_id: string | null;
  container_ifname: string | null;
  k8s_namespace: string | null;
  k8s_pod_name: string | null;
  interface_name: string | null;
  interface_index: number | null;
  mac: string | null;
  host_mac: string | null;
  state: string;
  ipv4: string | null;
  ipv6: string | null;
  identity: number;
  labels: string;
  information_labels: string;
  create_fingerprint: string;
  policy_revision: number;
  regenerations: number;
  created_at: number;
};

/** An endpoint row joined with its identity's labels and hash. */
export type EndpointView = EndpointRow & {
  identity_labels: string;
  identity_sha256: string;
  identity_policy_revision: number;
  identity_policy_stale: number;
};

const COLUMNS: readonly (keyof EndpointRow)[] = [
  'node', 'id', 'attachment_id', 'container_id', 'container_ifname', 'k8s_namespace', 'k8s_pod_name',
  'interface_name', 'interface_index', 'mac', 'host_mac', 'state', 'ipv4', 'ipv6', 'identity', 'labels',
  'information_labels', 'create_fingerprint', 'policy_revision', 'regenerations', 'created_at',
];
const INSERT = `INSERT INTO endpoints (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;
const VIEW = `SELECT e.*, i.labels AS identity_labels, i.sha256 AS identity_sha256,
  i.policy_revision AS identity_policy_revision, i.policy_stale AS identity_policy_stale
  FROM endpoints e JOIN identities i ON i.id = e.identity`;

export interface EndpointFilter {
  node?: string;
  namespace?: string;
  /** Formatted labels the endpoint must all carry. */
  labels?: string[];
}

export class EndpointStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Resolves a reference on a node; ID 0 resolves to nothing. */
  find(node: string, ref: EndpointRef): EndpointView | undefined {
    const one = (where: string, ...args: (string | number)[]) =>
      this.sql.exec<EndpointView>(`${VIEW} WHERE e.node = ? AND ${where} ORDER BY e.id LIMIT 1`, node, ...args).toArray()[0];
    switch (ref.kind) {
      case 'id':
        return one('e.id = ?', ref.id);
      case 'cni-attachment':
        return one('e.attachment_id = ?', formatAttachmentId(ref.containerId, ref.ifname));
      case 'container-id':
        return one('e.container_id = ?', ref.containerId);
      case 'pod-name':
        return one('e.k8s_namespace = ? AND e.k8s_pod_name = ?', ref.namespace, ref.pod);
    }
  }

  idTaken(node: string, id: number): boolean {
    return this.sql.exec('SELECT 1 FROM endpoints WHERE node = ? AND id = ?', node, id).toArray().length > 0;
  }

  byAttachment(node: string, attachmentId: string): EndpointView | undefined {
    return this.sql.exec<EndpointView>(`${VIEW} WHERE e.node = ? AND e.attachment_id = ?`, node, attachmentId).toArray()[0];
  }

  /** The lowest free endpoint number on a node, as cilium-cni's `cilium-local:0` asks for. */
  lowestFreeId(node: string): number | undefined {
    // No gap (the usual case): the next number is count + 1.
    const { n, top } = this.sql.exec<{ n: number; top: number | null }>('SELECT count(*) AS n, max(id) AS top FROM endpoints WHERE node = ?', node).one();
    if ((top ?? 0) === n) return n + 1 <= MAX_ENDPOINT_ID ? n + 1 : undefined;
    // Otherwise the first row whose number differs from its rank marks the lowest gap.
    const row = this.sql
      .exec<{ id: number }>(
        `SELECT coalesce(
           (SELECT rank FROM (SELECT id, row_number() OVER (ORDER BY id) AS rank FROM endpoints WHERE node = ?1)
             WHERE id <> rank LIMIT 1),
           ?2) AS id`,
        node, n + 1,
      )
      .one();
    return row.id >= MIN_ENDPOINT_ID && row.id <= MAX_ENDPOINT_ID ? row.id : undefined;
  }

  insert(row: EndpointRow): void {
    this.sql.exec(INSERT, ...COLUMNS.map((c) => row[c]));
  }

  /** The nodes hosting at least one endpoint of the identity. */
  nodesHosting(identity: number): string[] {
    return this.sql.exec<{ node: string }>('SELECT DISTINCT node FROM endpoints WHERE identity = ? ORDER BY node', identity).toArray().map((r) => r.node);
  }

  /** How many endpoints of the identity the node hosts. */
  countOfIdentityOnNode(node: string, identity: number): number {
    return this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM endpoints WHERE identity = ? AND node = ?', identity, node).one().n;
  }

  /** Moves an endpoint to a new label set and identity after a regeneration. */
  updateRegenerated(node: string, id: number, change: Pick<EndpointRow, 'identity' | 'labels' | 'information_labels' | 'policy_revision' | 'state'>): void {
    this.sql.exec(
      `UPDATE endpoints SET identity = ?, labels = ?, information_labels = ?, policy_revision = ?, state = ?,
         regenerations = regenerations + 1 WHERE node = ? AND id = ?`,
      change.identity, change.labels, change.information_labels, change.policy_revision, change.state, node, id,
    );
  }

  delete(node: string, id: number): void {
    this.sql.exec('DELETE FROM endpoints WHERE node = ? AND id = ?', node, id);
  }

  /** The identities of a node's endpoints above `after`, each once, in order, read lazily. */
  *identitiesOnNode(node: string, after: number): Generator<number> {
    for (const r of this.sql.exec<{ identity: number }>('SELECT DISTINCT identity FROM endpoints WHERE node = ? AND identity > ? ORDER BY identity', node, after)) {
      yield r.identity;
    }
  }

  /** Endpoint numbers on a node after `afterId`, in order. */
  idsOnNode(node: string, afterId: number, limit: number): number[] {
    return this.sql
      .exec<{ id: number }>('SELECT id FROM endpoints WHERE node = ? AND id > ? ORDER BY id LIMIT ?', node, afterId, limit)
      .toArray()
      .map((r) => r.id);
  }

  /** One batch of a namespace's endpoints in (node, id) order after the given position. */
  inNamespace(namespace: string, after: { node: string; id: number }, limit: number): EndpointView[] {
    return this.sql
      .exec<EndpointView>(
        `${VIEW} WHERE e.k8s_namespace = ? AND (e.node > ? OR (e.node = ? AND e.id > ?)) ORDER BY e.node, e.id LIMIT ?`,
        namespace, after.node, after.node, after.id, limit,
      )
      .toArray();
  }

  /** Those of `ids` still on the node. */
  onNodeWithIds(node: string, ids: readonly number[]): EndpointRow[] {
    return this.sql
      .exec<EndpointRow>('SELECT * FROM endpoints WHERE node = ? AND id IN (SELECT value FROM json_each(?)) ORDER BY id', node, JSON.stringify(ids))
      .toArray();
  }

  countOnNode(node: string): number {
    return this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM endpoints WHERE node = ?', node).one().n;
  }

  /** One page in (node, id) order after the given position, filtered. */
  page(after: { node: string; id: number } | undefined, limit: number, filter: EndpointFilter): Iterable<EndpointView> {
    const where: string[] = ['(e.node > ? OR (e.node = ? AND e.id > ?))'];
    const args: (string | number)[] = [after?.node ?? '', after?.node ?? '', after?.id ?? -1];
    if (filter.node !== undefined) {
      where.push('e.node = ?');
      args.push(filter.node);
    }
    if (filter.namespace !== undefined) {
      where.push('e.k8s_namespace = ?');
      args.push(filter.namespace);
    }
    for (const label of filter.labels ?? []) {
      where.push('EXISTS (SELECT 1 FROM json_each(e.labels) WHERE json_each.value = ?)');
      args.push(label);
    }
    return this.sql
      .exec<EndpointView>(`${VIEW} WHERE ${where.join(' AND ')} ORDER BY e.node, e.id LIMIT ?`, ...args, limit);
  }
}
