// Per-cluster configuration. A new label filter applies to endpoints as they are next
// regenerated (POST …/regenerate or a label PATCH); existing identities are not re-keyed.
import type { ClusterConfig, ClusterConfigPatch } from '../../src/api/config.js';
import { checkLabelFilter } from '../../src/core/label-filter.js';
import type { ClusterState } from '../cluster-state.js';

export function patchConfig(state: ClusterState, patch: ClusterConfigPatch): ClusterConfig {
  if (patch['label-filter']) checkLabelFilter(patch['label-filter']);
  const next: ClusterConfig = { ...state.config(), ...patch };
  state.setConfig(next);
  return next;
}
