// Identity garbage collection, run by the Durable Object's alarm in bounded batches (see
// ../background-work.ts): unreferenced identities past their grace period are deleted and their
// numbers quarantined; numbers whose quarantine is over are forgotten.
import type { ClusterState } from '../cluster-state.js';

/** Identities deleted (or quarantine rows forgotten) by one transaction at most. */
export const MAX_IDENTITIES_PER_BATCH = 1000;

/** Grace and quarantine cutoffs as of `now`: what was released (or freed) at or before them is due. */
export function gcCutoffs(state: ClusterState, now: number): { released: number; freed: number } {
  const config = state.config();
  return { released: now - config['identity-gc-grace-seconds'] * 1000, freed: now - config['identity-quarantine-seconds'] * 1000 };
}

/** Deletes those of `ids` still due, in one revision; returns the numbers freed. */
export function collectIdentities(state: ClusterState, ids: readonly number[], cutoff: number, now: number): number[] {
  const collected = state.identities.collect(ids, cutoff, now);
  for (const id of collected) {
    state.emit({ type: 'identity-delete', id });
    state.policy.removeIdentity(id);
  }
  if (collected.length > 0) state.bumpRevision(now);
  return collected;
}

/** The time the oldest GC candidate's grace period ends. */
export function nextGcAt(state: ClusterState): number | undefined {
  const oldest = state.identities.oldestRelease();
  return oldest === undefined ? undefined : oldest + state.config()['identity-gc-grace-seconds'] * 1000;
}
