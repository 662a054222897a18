// A cluster's own side of the registry: the registry provisions the object when the cluster is
// put (giving it its cluster ID) and asks it to retire when the cluster is deleted.
import { DomainError } from '../../src/core/errors.js';
import type { ClusterState } from '../cluster-state.js';

/**
 * Stores the cluster ID the registry gave the cluster. The ID numbers the identities, so it may
 * change only while there are none. Data written before clusters were explicit has no stored ID:
 * its identities were allocated with cluster ID 0, so it is adopted as-is by a put with ID 0.
 */
export function provisionCluster(state: ClusterState, clusterId: number): void {
  const current = state.clusterId() ?? 0;
  if (current !== clusterId && !state.identities.isEmpty()) {
    throw new DomainError(
      'cluster-not-empty',
      `the cluster has identities numbered for cluster ID ${current}: its ID can change only when it has none`,
    );
  }
  state.setClusterId(clusterId);
}

/** A cluster may be deleted once its nodes (and with them its endpoints) are gone. */
export function checkRetirable(state: ClusterState): void {
  if (!state.nodes.isEmpty()) throw new DomainError('cluster-not-empty', 'the cluster still has nodes: delete them first');
}

export function requireProvisioned(state: ClusterState): void {
  if (state.clusterId() === undefined) throw new DomainError('cluster-not-found', 'cluster not found: it was deleted or never put');
}
