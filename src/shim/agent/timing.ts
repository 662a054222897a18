// When the agent retries and heartbeats: pure functions of attempt counts and lease lengths.

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** Exponential backoff: initialMs × 2^(attempt−1), capped at maxMs (attempt counts from 1). */
export function backoffDelayMs(attempt: number, b: Backoff): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
}

/** Heartbeats carry the applied revision (the LAG that `idplane get nodes` shows), so even a node without a lease sends them. */
export const MAX_HEARTBEAT_INTERVAL_MS = 30_000;

/** A third of the lease (two heartbeats may be lost before it lapses), at most MAX_HEARTBEAT_INTERVAL_MS; 0 is no lease. */
export function heartbeatIntervalMs(leaseSeconds: number): number {
  if (leaseSeconds <= 0) return MAX_HEARTBEAT_INTERVAL_MS;
  return Math.min(MAX_HEARTBEAT_INTERVAL_MS, Math.max(1000, (leaseSeconds * 1000) / 3));
}
