import { describe, expect, it } from 'vitest';
import { takeToken, type BucketState } from '../../../src/core/token-bucket.js';

const rate = { perSecond: 2, burst: 3 };

/** Takes a token at each time, from a full bucket: each result as `ok` or the retry delay. */
function run(times: number[], r = rate): (string | number)[] {
  let state: BucketState | null = null;
  return times.map((t) => {
    const out = takeToken(state, r, t);
    if (!out.ok) return out.retryAfterSeconds;
    state = out.state;
    return 'ok';
  });
}

describe('token bucket', () => {
  it.each([
    { name: 'a full bucket gives its burst at once', times: [0, 0, 0], want: ['ok', 'ok', 'ok'] },
    { name: 'then refuses, saying when to retry', times: [0, 0, 0, 0], want: ['ok', 'ok', 'ok', 1] },
    { name: 'refills at the rate (2/s: one token per 500 ms)', times: [0, 0, 0, 499, 500], want: ['ok', 'ok', 'ok', 1, 'ok'] },
    { name: 'never holds more than its burst', times: [0, 60_000, 60_000, 60_000, 60_000], want: ['ok', 'ok', 'ok', 'ok', 1] },
    { name: 'a clock stepping back refills nothing', times: [1000, 1000, 1000, 0], want: ['ok', 'ok', 'ok', 1] },
  ])('$name', ({ times, want }) => {
    expect(run(times)).toEqual(want);
  });

  it('rounds Retry-After up to whole seconds at slow rates', () => {
    expect(run([0, 0], { perSecond: 0.1, burst: 1 })).toEqual(['ok', 10]);
    expect(run([0, 0, 5000], { perSecond: 0.1, burst: 1 })).toEqual(['ok', 10, 5]);
  });
});
