// Identity garbage collection, run by the Durable Object's alarm: unreferenced identities past
// their grace period are deleted and their numbers quarantined; expired quarantine is forgotten.
import type { ClusterState } from '../cluster-state.js';

/** Collects what is due; returns the numbers freed. */
export function collectIdentities(state: ClusterState, now: number): number[] {
  const config = state.config();
  const graceMs = config['identity-gc-grace-seconds'] * 1000;
  const collected = state.identities.collect(now - graceMs, now);
  state.identities.expireQuarantine(now - config['identity-quarantine-seconds'] * 1000);
  for (const id of collected) state.emit({ type: 'identity-delete', id });
  if (collected.length > 0) state.bumpRevision(now);
  return collected;
}

/** The time the oldest GC candidate's grace period ends. */
export function nextGcAt(state: ClusterState): number | undefined {
  const oldest = state.identities.oldestRelease();
  return oldest === undefined ? undefined : oldest + state.config()['identity-gc-grace-seconds'] * 1000;
}
