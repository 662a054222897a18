// The isolate cache of known clusters: bounded, expiring, and forgetting on demand.
import { describe, expect, it } from 'vitest';
import { KnownClusters } from '../../../worker/known-clusters.js';

function cache(maxEntries = 3, ttlMs = 1000) {
  const clock = { now: 0 };
  return { known: new KnownClusters({ maxEntries, ttlMs, now: () => clock.now }), clock };
}

describe('KnownClusters', () => {
  it('knows a remembered cluster until its entry expires', () => {
    const { known, clock } = cache();
    known.remember('a');
    clock.now = 999;
    expect(known.has('a')).toBe(true);
    clock.now = 1000;
    expect(known.has('a')).toBe(false);
  });

  it('drops the oldest entry past its bound, never holding more', () => {
    const { known } = cache(3);
    for (const n of ['a', 'b', 'c', 'd']) known.remember(n);
    expect(['a', 'b', 'c', 'd'].map((n) => known.has(n))).toEqual([false, true, true, true]);
  });

  it('counts a re-remembered entry as the newest', () => {
    const { known } = cache(2);
    known.remember('a');
    known.remember('b');
    known.remember('a');
    known.remember('c');
    expect(['a', 'b', 'c'].map((n) => known.has(n))).toEqual([true, false, true]);
  });

  it('forgets a cluster on demand', () => {
    const { known } = cache();
    known.remember('a');
    known.forget('a');
    expect(known.has('a')).toBe(false);
  });
});
