// Rows → API models. STABLE FORMAT: these shapes are the public JSON of the API.
import type { Cluster } from '../src/api/clusters.js';
import type { Endpoint, EndpointState } from '../src/api/endpoints.js';
import type { Identity, IpcacheEntry } from '../src/api/identities.js';
import type { Namespace } from '../src/api/namespaces.js';
import type { Node } from '../src/api/nodes.js';
import type { ReservedIdentity } from '../src/core/identity.js';
import { identityKeyOf } from '../src/core/identity-key.js';
import { tunnelIpOf } from '../src/core/ip.js';
import { buildLabelSet, parseLabel } from '../src/core/labels.js';
import { cidrIdentityLabels } from '../src/core/policy/peers.js';
import type { ClusterRow } from './stores/cluster-store.js';
import type { EndpointView } from './stores/endpoint-store.js';
import type { IdentityRow } from './stores/identity-store.js';
import type { IpcacheRow } from './stores/ipcache-store.js';
import type { NamespaceRow } from './stores/namespace-store.js';
import type { NodeRow } from './stores/node-store.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function optional<K extends string, V>(key: K, value: V | null): { [P in K]?: V } {
  return (value === null ? {} : { [key]: value }) as { [P in K]?: V };
}

/** An endpoint's policy as its identity's: the revision it was computed at and its enforcement. */
export interface EndpointPolicyStatus {
  revision: number;
  ingress: boolean;
  egress: boolean;
}

export function toEndpoint(v: EndpointView, policy: EndpointPolicyStatus): Endpoint {
  const information = JSON.parse(v.information_labels) as string[];
  const skip = new Set(information);
  return {
    id: v.id,
    node: v.node,
    ...optional('container-id', v.container_id),
    ...optional('container-interface-name', v.container_ifname),
    ...optional('k8s-namespace', v.k8s_namespace),
    ...optional('k8s-pod-name', v.k8s_pod_name),
    ...optional('interface-name', v.interface_name),
    ...optional('interface-index', v.interface_index),
    ...optional('mac', v.mac),
    ...optional('host-mac', v.host_mac),
    state: v.state as EndpointState,
    addressing: { ...optional('ipv4', v.ipv4), ...optional('ipv6', v.ipv6) },
    identity: { id: v.identity, labels: JSON.parse(v.identity_labels) as string[], labelsSHA256: v.identity_sha256 },
    labels: { identity: (JSON.parse(v.labels) as string[]).filter((l) => !skip.has(l)), information },
    'policy-revision': policy.revision,
    regenerations: v.regenerations,
    'policy-enforcement': { ingress: policy.ingress, egress: policy.egress },
  };
}

export function toIdentity(row: IdentityRow): Identity {
  return {
    id: row.id,
    labels: JSON.parse(row.labels) as string[],
    labelsSHA256: row.sha256,
    namespace: row.namespace,
    references: row.refcount,
    'created-at': iso(row.created_at),
  };
}

export function toReservedIdentity(r: ReservedIdentity, references: number): Identity {
  return {
    id: r.id,
    labels: r.labels,
    labelsSHA256: identityKeyOf(buildLabelSet(r.labels.map(parseLabel))).sha256,
    namespace: null,
    references,
    'created-at': null,
  };
}

/** A CIDR identity (local scope): no namespace, no endpoints, no creation time of its own. */
export function toCidrIdentity(id: number, prefix: string): Identity {
  const labels = cidrIdentityLabels(prefix);
  return {
    id,
    labels,
    labelsSHA256: identityKeyOf(buildLabelSet(labels.map(parseLabel))).sha256,
    namespace: null,
    references: 0,
    'created-at': null,
  };
}

export function toNode(row: NodeRow, clusterRevision: number): Node {
  return {
    name: row.name,
    ...optional('ipv4', row.ipv4),
    ...optional('ipv6', row.ipv6),
    endpoints: row.endpoints,
    'created-at': iso(row.created_at),
    'updated-at': iso(row.updated_at),
    'lease-seconds': row.lease_seconds,
    'lease-expires-at': row.lease_expires_at === null ? null : iso(row.lease_expires_at),
    'last-heartbeat': row.last_heartbeat === null ? null : iso(row.last_heartbeat),
    'applied-revision': row.applied_revision,
    lag: Math.max(0, clusterRevision - row.applied_revision),
    ...(row.deleting_since === null ? {} : { 'deleting-since': iso(row.deleting_since) }),
  };
}

export function toIpcacheEntry(row: IpcacheRow): IpcacheEntry {
  const hostIp = tunnelIpOf({ ipv4: row.node_ipv4, ipv6: row.node_ipv6 });
  return { prefix: row.prefix, identity: row.identity, node: row.node, 'host-ip': hostIp, endpoint: row.endpoint };
}

export function toNamespace(row: NamespaceRow): Namespace {
  return {
    name: row.name,
    labels: JSON.parse(row.labels) as Record<string, string>,
    'created-at': iso(row.created_at),
    'updated-at': iso(row.updated_at),
    'relabel-pending': row.relabel_pending === 1,
  };
}

export function toCluster(row: ClusterRow): Cluster {
  return { name: row.name, 'cluster-id': row.cluster_id, 'created-at': iso(row.created_at) };
}
