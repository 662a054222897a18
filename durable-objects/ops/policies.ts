// Network policies: put, get, list, delete, and the recompute of the identities a change makes
// stale, in bounded chunks (the first in the change's own transaction, the rest by background
// work). Each function runs inside the caller's transaction, which is also one policy-engine
// unit (ClusterState.inPolicyUnit): a DomainError rolls both back.
import type { PolicyList, PolicyMutation, PolicyObject } from '../../src/api/policies.js';
import { DomainError } from '../../src/core/errors.js';
import { policyRef } from '../../src/core/policy/compile.js';
import { cidrIdentityLabels } from '../../src/core/policy/peers.js';
import type { PolicyChange } from '../../src/core/policy/engine.js';
import type { PolicyDocument, PolicyKind } from '../../src/core/policy/rule.js';
import type { PolicyMetadata } from '../../src/core/policy/sanitize.js';
import type { ClusterState } from '../cluster-state.js';
import { decodeCursor, takePage } from '../paging.js';
import type { PolicyCursor, PolicyRow } from '../stores/policy-store.js';
import { emitPolicyChanges, emitPrefixDelete, emitPrefixUpsert } from './policy-events.js';

/** Identities recomputed by one transaction at most: a cluster-wide change is spread over many. */
export const MAX_POLICY_CHUNK = 256;
const DEFAULT_LIMIT = 100;

/** A sanitised policy with the `spec`/`specs` it was written with (nulls dropped). */
export interface PolicyInput {
  document: PolicyDocument;
  metadata: PolicyMetadata;
  spec?: Record<string, unknown>;
  specs?: Record<string, unknown>[];
}

function nonEmpty(m: Record<string, string>): Record<string, string> | undefined {
  return Object.keys(m).length > 0 ? m : undefined;
}

function buildObject(input: PolicyInput, createdAt: number, generation: number, policyRevision: number): PolicyObject {
  const { document: doc, metadata } = input;
  const labels = nonEmpty(metadata.labels);
  const annotations = nonEmpty(metadata.annotations);
  return {
    apiVersion: 'cilium.io/v2',
    kind: doc.kind,
    metadata: {
      name: doc.name,
      ...(doc.namespace === null ? {} : { namespace: doc.namespace }),
      ...(labels ? { labels } : {}),
      ...(annotations ? { annotations } : {}),
      creationTimestamp: new Date(createdAt).toISOString(),
      generation,
      resourceVersion: String(policyRevision),
    },
    ...(input.spec === undefined ? {} : { spec: input.spec }),
    ...(input.specs === undefined ? {} : { specs: input.specs }),
  };
}

/** What a PUT compares: everything the user wrote that is kept. */
function contentOf(o: PolicyObject): string {
  return JSON.stringify([o.metadata.labels ?? {}, o.metadata.annotations ?? {}, o.spec ?? null, o.specs ?? null]);
}

function objectOf(row: PolicyRow): PolicyObject {
  return JSON.parse(row.object) as PolicyObject;
}

export function putPolicy(state: ClusterState, input: PolicyInput, now: number): { created: boolean } & PolicyMutation {
  const ref = policyRef(input.document);
  const existing = state.policies.get(ref);
  const old = existing && objectOf(existing);
  if (old && contentOf(old) === contentOf(buildObject(input, 0, 0, 0))) {
    return { created: false, policy: old, 'policy-revision': state.policyRevision(), revision: state.revision() };
  }
  const policyRevision = state.bumpPolicyRevision();
  const createdAt = existing?.created_at ?? now;
  const policy = buildObject(input, createdAt, (old?.metadata.generation ?? 0) + 1, policyRevision);
  state.policies.upsert({
    ref, kind: input.document.kind, namespace: input.document.namespace, name: input.document.name,
    object: JSON.stringify(policy), rules: JSON.stringify(input.document), created_at: createdAt, updated_at: now,
  });
  applyChange(state, state.policy.putPolicy(input.document), policyRevision);
  const revision = state.bumpRevision(now);
  return { created: !existing, policy, 'policy-revision': policyRevision, revision };
}

export function deletePolicy(state: ClusterState, kind: PolicyKind, namespace: string | null, name: string, now: number): PolicyMutation {
  const ref = policyRef({ namespace, name });
  const existing = state.policies.get(ref);
  if (!existing || existing.kind !== kind) throw policyNotFound(kind, namespace, name);
  const policyRevision = state.bumpPolicyRevision();
  state.policies.delete(ref);
  applyChange(state, state.policy.deletePolicy(ref), policyRevision);
  const revision = state.bumpRevision(now);
  return { policy: objectOf(existing), 'policy-revision': policyRevision, revision };
}

/**
 * After a put/delete: CIDR identities for the prefixes now named (freed for those no longer
 * named), the stale identities marked, and the first chunk of them recomputed.
 */
function applyChange(state: ClusterState, change: PolicyChange, policyRevision: number): void {
  for (const prefix of change.prefixesAdded) {
    // A /0 is the reserved world identity: no identity of its own.
    if (cidrIdentityLabels(prefix).length === 1) continue;
    const id = state.policies.allocateCidr(prefix);
    state.policy.addIdentity(id, cidrIdentityLabels(prefix));
    emitPrefixUpsert(state, prefix, id);
  }
  for (const prefix of change.prefixesRemoved) {
    const id = state.policies.freeCidr(prefix);
    if (id === undefined) continue;
    state.policy.removeIdentity(id);
    emitPrefixDelete(state, prefix);
  }
  state.identities.markPolicyStale(change.stale, policyRevision - 1);
  regenerateChunk(state, state.identities.policyStale(0, MAX_POLICY_CHUNK));
}

/** Recomputes these stale identities at the current policy revision and publishes their entries. */
export function regenerateChunk(state: ClusterState, ids: readonly number[]): void {
  if (ids.length === 0) return;
  state.policy.regenerate(ids);
  state.identities.markPolicyCurrent(ids, state.policyRevision());
  // Every one of them (its revision moved even when its entries did not), and whatever else changed.
  emitPolicyChanges(state, [...new Set([...state.policy.takeChanged(), ...ids])].sort((a, b) => a - b));
}

/** One background chunk: recomputes those of `ids` still stale, in one revision. */
export function regenerateBatch(state: ClusterState, ids: readonly number[], now: number): void {
  regenerateChunk(state, ids);
  state.bumpRevision(now);
}

export function policyNotFound(kind: PolicyKind, namespace: string | null, name: string): DomainError {
  const what = kind === 'CiliumNetworkPolicy' ? `CiliumNetworkPolicy ${namespace}/${name}` : `CiliumClusterwideNetworkPolicy ${name}`;
  return new DomainError('policy-not-found', `${what} not found`);
}

export function getPolicy(state: ClusterState, kind: PolicyKind, namespace: string | null, name: string): { policy: PolicyObject; 'policy-revision': number } {
  const row = state.policies.get(policyRef({ namespace, name }));
  if (!row || row.kind !== kind) throw policyNotFound(kind, namespace, name);
  return { policy: objectOf(row), 'policy-revision': state.policyRevision() };
}

const isCursor = (v: unknown): v is PolicyCursor =>
  typeof v === 'object' && v !== null && typeof (v as PolicyCursor).namespace === 'string' && typeof (v as PolicyCursor).name === 'string';

export function listPolicies(state: ClusterState, kind: PolicyKind, args: { namespace?: string; limit?: number; cursor?: string }): PolicyList {
  const limit = args.limit ?? DEFAULT_LIMIT;
  const after = args.cursor === undefined ? undefined : decodeCursor(args.cursor, isCursor);
  const rows = state.policies.page(kind, args.namespace, after, limit + 1);
  const { items, ...next } = takePage(rows, limit, objectOf, (row) => ({ namespace: row.namespace ?? '', name: row.name }));
  return { items, 'policy-revision': state.policyRevision(), ...next };
}
