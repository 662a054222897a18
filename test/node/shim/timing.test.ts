// When the agent retries a control plane that is down, and how often it heartbeats.
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, heartbeatIntervalMs, MAX_HEARTBEAT_INTERVAL_MS } from '../../../src/shim/agent/timing.js';

describe('backoffDelayMs (doubling from initialMs, capped at maxMs)', () => {
  const b = { initialMs: 500, maxMs: 30_000 };
  it.each([
    [1, 500],
    [2, 1000],
    [3, 2000],
    [6, 16_000],
    [7, 30_000],
    [50, 30_000],
  ])('attempt %d → %d ms', (attempt, want) => {
    expect(backoffDelayMs(attempt, b)).toBe(want);
  });
});

describe('heartbeatIntervalMs (a third of the lease, 1 s..30 s; heartbeats also without a lease)', () => {
  it.each([
    { lease: 900, want: MAX_HEARTBEAT_INTERVAL_MS },
    { lease: 60, want: 20_000 },
    { lease: 2, want: 1000 },
    { lease: 0, want: MAX_HEARTBEAT_INTERVAL_MS },
  ])('lease $lease s → $want ms', ({ lease, want }) => {
    expect(heartbeatIntervalMs(lease)).toBe(want);
  });
});
