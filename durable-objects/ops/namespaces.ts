// Namespaces and their labels. A label change moves the namespace's endpoints to identities with
// the new `k8s:io.cilium.k8s.namespace.labels.*` labels in batches of at most RELABEL_BATCH
// endpoints and RELABEL_BATCH_BYTES of labels, one transaction and one revision each: the PUT commits the new labels with the first batch,
// and the DO's alarm runs the next ones until none is left, so no transaction grows with the
// namespace. Meanwhile creates, PATCHes and regenerations in the namespace use the new labels.
import type { Namespace, NamespaceList, NamespaceSpec } from '../../src/api/namespaces.js';
import { DomainError } from '../../src/core/errors.js';
import { formatLabelList } from '../../src/core/labels.js';
import { normaliseNamespaceLabels } from '../../src/core/namespaces.js';
import type { ClusterState } from '../cluster-state.js';
import { decodeCursor, takePage } from '../paging.js';
import { toNamespace } from '../models.js';
import { currentLabels, moveEndpoint } from './endpoints.js';

/** Endpoints moved per transaction (each: an identity lookup, an update, 1–3 feed events). */
export const RELABEL_BATCH = 100;
/**
 * Label bytes of the endpoints moved in one transaction: a new identity's feed event carries its
 * labels (up to 40 KiB), so this keeps one revision's feed row well under 1 MiB.
 */
export const RELABEL_BATCH_BYTES = 512 * 1024;

const DEFAULT_LIMIT = 1000;

export function getNamespace(state: ClusterState, name: string): Namespace {
  const row = state.namespaces.get(name);
  if (!row) throw new DomainError('namespace-not-found', `namespace ${JSON.stringify(name)} not found`);
  return toNamespace(row);
}

export function listNamespaces(state: ClusterState, args: { limit?: number; cursor?: string }): NamespaceList {
  const limit = args.limit ?? DEFAULT_LIMIT;
  const after = args.cursor === undefined ? '' : decodeCursor(args.cursor, (v): v is string => typeof v === 'string');
  const { items, ...next } = takePage(state.namespaces.page(after, limit + 1), limit, toNamespace, (row) => row.name);
  return { namespaces: items, ...next };
}

/** Sets a namespace's labels; when they change, its endpoints start moving (first batch included). */
export function putNamespace(state: ClusterState, name: string, spec: NamespaceSpec, now: number): { created: boolean; namespace: Namespace } {
  const labels = normaliseNamespaceLabels(spec.labels);
  const before = state.namespaces.labels(name);
  const created = state.namespaces.upsert(name, labels, now);
  if (JSON.stringify(before ?? {}) !== JSON.stringify(labels)) startRelabel(state, name, now);
  return { created, namespace: getNamespace(state, name) };
}

/** Removes a namespace: its endpoints lose its labels, in batches as for a change. */
export function deleteNamespace(state: ClusterState, name: string, now: number): Namespace {
  const gone = getNamespace(state, name);
  state.namespaces.delete(name);
  if (Object.keys(gone.labels).length > 0) startRelabel(state, name, now);
  return { ...gone, 'relabel-pending': state.namespaces.relabel(name) !== undefined };
}

function startRelabel(state: ClusterState, name: string, now: number): void {
  state.namespaces.startRelabel(name);
  relabelBatch(state, now, name);
}

/**
 * Moves up to RELABEL_BATCH endpoints of a pending relabel (the named namespace's, or the first)
 * to their namespace's current labels, in one revision. Returns whether relabels remain. The
 * control plane's own work is charged to no node.
 */
export function relabelBatch(state: ClusterState, now: number, namespace?: string): boolean {
  const job = state.namespaces.relabel(namespace);
  if (!job) return state.namespaces.hasRelabels();
  const batch = state.endpoints.inNamespace(job.namespace, job.after, RELABEL_BATCH);
  let moved = 0;
  let bytes = 0;
  let last: (typeof batch)[number] | undefined;
  for (const ep of batch) {
    last = ep;
    const labels = currentLabels(state, ep);
    const stored = JSON.stringify(formatLabelList(labels));
    if (stored === ep.labels) continue;
    moveEndpoint(state, ep, labels, now, null);
    moved++;
    bytes += stored.length;
    if (bytes >= RELABEL_BATCH_BYTES) break;
  }
  const sawAll = batch.length < RELABEL_BATCH && last === batch[batch.length - 1];
  if (sawAll || !last) state.namespaces.finishRelabel(job.namespace);
  else state.namespaces.advanceRelabel(job.namespace, { node: last.node, id: last.id });
  if (moved > 0) state.bumpRevision(now);
  return state.namespaces.hasRelabels();
}
