// Numeric security identities (Cilium pkg/identity/numericidentity.go): the reserved table, the
// cluster-scoped allocation range and the local (CIDR) scope.

export type NumericIdentity = number;

/** The cluster ID sits in bits 16–23 of a cluster-scoped identity. */
export const CLUSTER_ID_SHIFT = 16;
/** Cluster-scoped numbers for cluster ID 0; 1..255 are reserved (128–255 for users). */
export const MIN_CLUSTER_IDENTITY = 256;
export const MAX_CLUSTER_IDENTITY = (1 << CLUSTER_ID_SHIFT) - 1;
/** Cluster IDs fill the 8 bits above the shift (Cilium's default ClusterIDMax). */
export const MAX_CLUSTER_ID = 255;

export interface ReservedIdentity {
  id: NumericIdentity;
  name: string;
  labels: string[];
}

/** Cilium v1.18 reserved identities with the labels `cilium identity list` shows for them. */
export const RESERVED_IDENTITIES: readonly ReservedIdentity[] = [
  { id: 1, name: 'host', labels: ['reserved:host'] },
  { id: 2, name: 'world', labels: ['reserved:world'] },
  { id: 3, name: 'unmanaged', labels: ['reserved:unmanaged'] },
  { id: 4, name: 'health', labels: ['reserved:health'] },
  { id: 5, name: 'init', labels: ['reserved:init'] },
  { id: 6, name: 'remote-node', labels: ['reserved:remote-node'] },
  { id: 7, name: 'kube-apiserver', labels: ['reserved:kube-apiserver', 'reserved:remote-node'] },
  { id: 8, name: 'ingress', labels: ['reserved:ingress'] },
  { id: 9, name: 'world-ipv4', labels: ['reserved:world-ipv4'] },
  { id: 10, name: 'world-ipv6', labels: ['reserved:world-ipv6'] },
  // Cilium registers 11 by name only: it has no reserved labels.
  { id: 11, name: 'overlay-to-encrypt', labels: [] },
];

/** The identity of the node's own addresses, and of every other node's (NodeUpdated in pkg/node/manager). */
export const HOST_IDENTITY: NumericIdentity = 1;
export const REMOTE_NODE_IDENTITY: NumericIdentity = 6;

const RESERVED_BY_ID = new Map(RESERVED_IDENTITIES.map((r) => [r.id, r]));

export function reservedIdentity(id: NumericIdentity): ReservedIdentity | undefined {
  return RESERVED_BY_ID.get(id);
}

export interface IdentityRange {
  min: NumericIdentity;
  max: NumericIdentity;
}

/**
 * The allocation range of a cluster: 256..65535 for cluster ID 0; for ID c > 0 the whole
 * c<<16 .. (c+1)<<16 - 1, as Cilium's InitWellKnownIdentities sets it.
 */
export function clusterIdentityRange(clusterId: number): IdentityRange {
  if (clusterId === 0) return { min: MIN_CLUSTER_IDENTITY, max: MAX_CLUSTER_IDENTITY };
  const min = clusterId << CLUSTER_ID_SHIFT;
  return { min, max: min + MAX_CLUSTER_IDENTITY };
}
