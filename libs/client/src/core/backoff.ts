/**
 * Reconnect policy as data: jittered exponential backoff. Pure: the random source is passed in.
 *
 * `delay(attempt) = base * (1 - jitter) + base * jitter * random()`, where
 * `base = min(maxDelayMs, initialDelayMs * multiplier^(attempt - 1))`.
 * With the defaults the first retry waits 100–200 ms, then 200–400, 400–800, … up to 5–10 s.
 */
export interface ReconnectPolicy {
  /** Base delay of the first retry, in ms. Default 200. */
  readonly initialDelayMs: number;
  /** Upper bound of the base delay, in ms. Default 10,000. */
  readonly maxDelayMs: number;
  /** Growth factor per attempt. Default 2. */
  readonly multiplier: number;
  /** Fraction of the base delay that is randomized, in [0, 1]. Default 0.5 ("equal jitter"). */
  readonly jitter: number;
  /** Give up (close the client) after this many consecutive failed attempts; -1 retries forever. Default -1. */
  readonly maxAttempts: number;
  /**
   * A connection that stayed up at least this long counts as stable: the next drop retries from attempt 1.
   * A shorter one (a session that accepts and drops at once) keeps growing the delay. Default 10,000 ms.
   */
  readonly stableConnectionMs: number;
}

/** The documented defaults; see {@link ReconnectPolicy}. */
export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = Object.freeze({
  initialDelayMs: 200,
  maxDelayMs: 10_000,
  multiplier: 2,
  jitter: 0.5,
  maxAttempts: -1,
  stableConnectionMs: 10_000,
});

/**
 * The wait before retry number `attempt` (1 = the first retry after a failure or a drop).
 * `random` returns a number in [0, 1). Always returns a finite, non-negative integer.
 */
export function backoffDelay(policy: ReconnectPolicy, attempt: number, random: () => number): number {
  const n = Math.max(1, Math.floor(attempt));
  // Cap the exponent so huge attempt counts cannot overflow to Infinity before the min().
  const exp = Math.min(n - 1, 64);
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * Math.pow(policy.multiplier, exp));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const r = Math.min(Math.max(random(), 0), 1);
  const delay = base * (1 - jitter) + base * jitter * r;
  return Number.isFinite(delay) && delay > 0 ? Math.round(delay) : 0;
}
