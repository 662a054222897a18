// A token bucket (as golang.org/x/time/rate, which Cilium's API rate limiter builds on): `burst`
// tokens at most, refilled at `perSecond`. Pure: the caller stores the state where a rolled-back
// transaction rolls it back too.

export interface BucketRate {
  perSecond: number;
  burst: number;
}

/** Tokens as of `at` (ms). */
export interface BucketState {
  tokens: number;
  at: number;
}

export type TakeResult = { ok: true; state: BucketState } | { ok: false; retryAfterSeconds: number };

/** Takes one token at `now`; a bucket never drawn from (null) is full. */
export function takeToken(state: BucketState | null, rate: BucketRate, now: number): TakeResult {
  // A clock that stepped back refills nothing rather than draining the bucket.
  const elapsed = state === null ? 0 : Math.max(0, now - state.at);
  const tokens = state === null ? rate.burst : Math.min(rate.burst, state.tokens + (elapsed / 1000) * rate.perSecond);
  if (tokens >= 1) return { ok: true, state: { tokens: tokens - 1, at: now } };
  return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / rate.perSecond)) };
}
