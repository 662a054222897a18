// Endpoint lifecycle: create, look up, list, relabel, regenerate, delete. Each function runs
// inside the caller's single SQLite transaction and throws DomainError to roll it back.
import type { Endpoint, EndpointChangeRequest, EndpointList } from '../../src/api/endpoints.js';
import { parseEndpointRef } from '../../src/core/endpoint-ref.js';
import { normaliseCreate } from '../../src/core/endpoint-request.js';
import { patchEndpointLabels, withNamespaceLabels, type NamespaceLabels } from '../../src/core/endpoint-labels.js';
import { DomainError } from '../../src/core/errors.js';
import type { FeedEvent } from '../../src/core/feed.js';
import { hostPrefix, hostPrefixesOf, type ParsedIp } from '../../src/core/ip.js';
import { buildLabelSet, formatLabelList, parseClientLabel, parseLabel, type Label, type LabelSet } from '../../src/core/labels.js';
import type { ClusterState } from '../cluster-state.js';
import { decodeCursor, takePage } from '../paging.js';
import { toEndpoint } from '../models.js';
import { acquireIdentity, type IdentityCharge } from './allocation.js';
import type { EndpointRow, EndpointView } from '../stores/endpoint-store.js';
import { endpointJoined, endpointLeft, endpointPrefixReleased } from './policy-events.js';

/** The API model of an endpoint, with its identity's policy revision and enforcement. */
export function endpointModel(state: ClusterState, v: EndpointView): Endpoint {
  const enforced = state.engine.enforcementOf(v.identity);
  const revision = v.identity_policy_stale === 1 ? v.identity_policy_revision : state.policyRevision();
  return toEndpoint(v, { revision, ingress: enforced?.ingress ?? false, egress: enforced?.egress ?? false });
}

export interface CreateOutcome {
  created: boolean;
  endpoint: Endpoint;
}

/**
 * Checks the node exists (and, for a change, that it is not being removed); returns its tunnel
 * endpoint address.
 */
function requireNode(state: ClusterState, node: string, change: boolean): string | null {
  const found = state.nodes.addressAndState(node);
  if (found === undefined) throw new DomainError('node-not-found', `node ${JSON.stringify(node)} not found`);
  if (change && found.deleting) throw nodeDeleting(node);
  return found.hostIp;
}

export function nodeDeleting(node: string): DomainError {
  return new DomainError('node-deleting', `node ${JSON.stringify(node)} is being deleted; retry once it is gone`);
}

function endpointUpsert(ep: EndpointRow): FeedEvent {
  return {
    type: 'endpoint-upsert', node: ep.node, id: ep.id, identity: ep.identity, ipv4: ep.ipv4, ipv6: ep.ipv6,
    'interface-index': ep.interface_index, mac: ep.mac, 'host-mac': ep.host_mac,
  };
}

/** An address for a new endpoint: free in the ipcache and not a node's own address. */
function claimAddress(state: ClusterState, ip: ParsedIp | null): string | null {
  if (!ip) return null;
  const { holder, node } = state.ipcache.claimOf(hostPrefix(ip), ip.text);
  if (holder) {
    throw new DomainError('ip-in-use', `IP ${ip.text} is already in use by endpoint ${holder.endpoint} on node ${holder.node}`);
  }
  if (node !== undefined) throw new DomainError('ip-in-use', `IP ${ip.text} is the address of node ${node}, not a pod's`);
  return hostPrefix(ip);
}

/** The labels of the endpoint's namespace now (none outside a namespace or for an unknown one). */
function namespaceLabelsOf(state: ClusterState, namespace: string | null): NamespaceLabels | null {
  return namespace === null ? null : state.namespaces.labels(namespace);
}

export function createEndpoint(
  state: ClusterState, cluster: string, node: string, refText: string, req: EndpointChangeRequest, now: number, charge: IdentityCharge,
): CreateOutcome {
  const n = normaliseCreate(refText, req, cluster);
  const hostIp = requireNode(state, node, true);
  if (n.attachmentId !== null) {
    const existing = state.endpoints.byAttachment(node, n.attachmentId);
    if (existing) {
      // CNI ADD is retried: the same request for the same attachment answers the same endpoint.
      if (n.ref.kind === 'cni-attachment' && existing.create_fingerprint === n.fingerprint) {
        return { created: false, endpoint: endpointModel(state, existing) };
      }
      throw new DomainError('endpoint-ref-taken', `endpoint for CNI attachment ID ${n.attachmentId} already exists`);
    }
  }
  let id: number;
  if (n.ref.kind === 'id' && n.ref.id !== 0) {
    id = n.ref.id;
    if (state.endpoints.idTaken(node, id)) throw new DomainError('endpoint-ref-taken', `endpoint ID ${id} already exists`);
  } else {
    const free = state.endpoints.lowestFreeId(node);
    if (free === undefined) throw new DomainError('endpoint-ids-exhausted', `node ${node} has no free endpoint ID`);
    id = free;
  }
  const prefixes = [claimAddress(state, n.ipv4), claimAddress(state, n.ipv6)].filter((p): p is string => p !== null);
  const labels = withNamespaceLabels(n.labels, namespaceLabelsOf(state, n.namespace));
  const identity = acquireIdentity(state, labels, now, charge);
  const row: EndpointRow = {
    node, id,
    attachment_id: n.attachmentId,
    container_id: n.containerId,
    container_ifname: n.containerIfname,
    k8s_namespace: n.namespace,
    k8s_pod_name: n.podName,
    interface_name: n.interfaceName,
    interface_index: n.interfaceIndex,
    mac: n.mac,
    host_mac: n.hostMac,
    // Allocation is serialised here, so the first regeneration completes before the answer:
    // every create is ready at the current policy revision, as sync-build-endpoint asks.
    state: 'ready',
    ipv4: n.ipv4?.text ?? null,
    ipv6: n.ipv6?.text ?? null,
    identity: identity.id,
    labels: JSON.stringify(formatLabelList(labels)),
    information_labels: JSON.stringify(identity.information),
    create_fingerprint: n.fingerprint,
    policy_revision: state.policyRevision(),
    regenerations: 1,
    created_at: now,
  };
  state.endpoints.insert(row);
  state.emit(endpointUpsert(row));
  endpointJoined(state, node, identity.id);
  for (const prefix of prefixes) {
    state.ipcache.insert(prefix, identity.id, node, id);
    state.emit({ type: 'ipcache-upsert', prefix, identity: identity.id, 'host-ip': hostIp, node, endpoint: id });
  }
  state.bumpRevision(now);
  // The answer from the rows in hand: the identity's policy is current (acquireIdentity saw to it).
  const view: EndpointView = {
    ...row, identity_labels: JSON.stringify(identity.labels), identity_sha256: identity.sha256, identity_policy_revision: state.policyRevision(), identity_policy_stale: 0,
  };
  return { created: true, endpoint: endpointModel(state, view) };
}

/** The endpoint a reference names on a node: node-not-found, endpoint-not-found otherwise; `change`: refused on a node being removed. */
export function findEndpoint(state: ClusterState, node: string, refText: string, change = false): EndpointView {
  const ref = parseEndpointRef(refText, false);
  requireNode(state, node, change);
  const found = state.endpoints.find(node, ref);
  if (!found) throw new DomainError('endpoint-not-found', `endpoint ${refText} not found on node ${node}`);
  return found;
}

export function getEndpoint(state: ClusterState, node: string, refText: string): Endpoint {
  return endpointModel(state, findEndpoint(state, node, refText));
}

/**
 * Moves an endpoint to a new label set, filtered with the current filter, and to the resulting
 * identity, in the caller's transaction; the caller bumps the revision.
 */
export function moveEndpoint(state: ClusterState, ep: EndpointView, labels: LabelSet, now: number, charge: IdentityCharge): void {
  const identity = acquireIdentity(state, labels, now, charge);
  state.identities.release(ep.identity, now);
  const change = {
    identity: identity.id,
    labels: JSON.stringify(formatLabelList(labels)),
    information_labels: JSON.stringify(identity.information),
    policy_revision: state.policyRevision(),
    state: 'ready',
  };
  state.endpoints.updateRegenerated(ep.node, ep.id, change);
  state.emit(endpointUpsert({ ...ep, ...change }));
  if (identity.id !== ep.identity) {
    endpointLeft(state, ep.node, ep.identity);
    endpointJoined(state, ep.node, identity.id);
    state.ipcache.setEndpointIdentity(ep.node, ep.id, identity.id);
    const hostIp = requireNode(state, ep.node, true);
    for (const prefix of hostPrefixesOf(ep)) {
      state.emit({ type: 'ipcache-upsert', prefix, identity: identity.id, 'host-ip': hostIp, node: ep.node, endpoint: ep.id });
    }
  }
}

/** The endpoint's stored labels with its namespace's current labels. */
export function currentLabels(state: ClusterState, ep: EndpointView): Map<string, Label> {
  const stored = buildLabelSet((JSON.parse(ep.labels) as string[]).map(parseLabel));
  return withNamespaceLabels(stored, namespaceLabelsOf(state, ep.k8s_namespace));
}

function regenerate(state: ClusterState, ep: EndpointView, labels: LabelSet, now: number, charge: IdentityCharge): Endpoint {
  moveEndpoint(state, ep, labels, now, charge);
  state.bumpRevision(now);
  return getEndpoint(state, ep.node, String(ep.id));
}

export function patchLabels(state: ClusterState, node: string, refText: string, add: string[], del: string[], now: number, charge: IdentityCharge): Endpoint {
  const ep = findEndpoint(state, node, refText);
  return regenerate(state, ep, patchEndpointLabels(currentLabels(state, ep), add, del), now, charge);
}

export function regenerateEndpoint(state: ClusterState, node: string, refText: string, now: number, charge: IdentityCharge): Endpoint {
  const ep = findEndpoint(state, node, refText, true);
  return regenerate(state, ep, currentLabels(state, ep), now, charge);
}

/**
 * Removes an endpoint: its ipcache entries go (a policy's CIDR entry for the same address comes
 * back) and its identity reference is released.
 */
export function removeEndpoint(state: ClusterState, ep: EndpointRow, now: number): void {
  state.ipcache.deleteEndpoint(ep.node, ep.id);
  for (const prefix of hostPrefixesOf(ep)) {
    state.emit({ type: 'ipcache-delete', prefix, node: ep.node, endpoint: ep.id });
    endpointPrefixReleased(state, prefix);
  }
  state.endpoints.delete(ep.node, ep.id);
  state.emit({ type: 'endpoint-delete', node: ep.node, id: ep.id, ipv4: ep.ipv4, ipv6: ep.ipv6 });
  endpointLeft(state, ep.node, ep.identity);
  state.identities.release(ep.identity, now);
}

export function deleteEndpoint(state: ClusterState, node: string, refText: string, now: number): Endpoint {
  const ep = findEndpoint(state, node, refText);
  const model = endpointModel(state, ep);
  removeEndpoint(state, ep, now);
  state.bumpRevision(now);
  return { ...model, state: 'disconnected' };
}

export interface EndpointListArgs {
  node?: string;
  namespace?: string;
  labels?: string;
  limit?: number;
  cursor?: string;
}

export function listEndpoints(state: ClusterState, args: EndpointListArgs): EndpointList {
  const limit = args.limit ?? 1000;
  const after = args.cursor === undefined ? undefined : decodeCursor(args.cursor, (v): v is { node: string; id: number } =>
    typeof v === 'object' && v !== null && typeof (v as { node?: unknown }).node === 'string' && Number.isInteger((v as { id?: unknown }).id));
  const labels = args.labels === undefined || args.labels === '' ? [] : formatLabelList(buildLabelSet(args.labels.split(',').map(parseClientLabel)));
  const rows = state.endpoints.page(after, limit + 1, { node: args.node, namespace: args.namespace, labels });
  const { items, ...next } = takePage(rows, limit, (row) => endpointModel(state, row), (row) => ({ node: row.node, id: row.id }));
  return { endpoints: items, ...next };
}
