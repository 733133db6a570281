/**
 * Retry, backoff and circuit-breaker decisions for pushes to one subscriber. Pure: time is passed in.
 *
 * ```
 *            ack                         failure (< breakerFailures in a row)
 *   ready ◄────────── in flight ──────────────────────────► backoff ──(retryAt passes)──► ready
 *                         │ failure (breakerFailures in a row)
 *                         ▼
 *                     silenced ──(silencedUntil passes)──► ready (half-open: one more failure re-silences)
 * ```
 * A failure is a push not acknowledged within `ackTimeoutMs`, or one that could not be queued.
 */
export interface PushRetryPolicy {
  /** A push not acknowledged within this time has failed. */
  readonly ackTimeoutMs: number;
  /** Wait before the first retry; doubles per consecutive failure. */
  readonly initialBackoffMs: number;
  /** Longest wait between retries. */
  readonly maxBackoffMs: number;
  /** Consecutive failures that open the breaker. */
  readonly breakerFailures: number;
  /** How long an open breaker silences the subscriber. */
  readonly breakerOpenMs: number;
}

/** Defaults: 5 s to acknowledge, retries after 200 ms doubling to 5 s, 5 failures in a row silence for 30 s. */
export const DEFAULT_PUSH_RETRY_POLICY: PushRetryPolicy = Object.freeze({
  ackTimeoutMs: 5_000,
  initialBackoffMs: 200,
  maxBackoffMs: 5_000,
  breakerFailures: 5,
  breakerOpenMs: 30_000,
});

/** A subscriber's delivery record (kept on the subscriber, mutated only through these functions' results). */
export interface DeliveryHealth {
  /** Consecutive failed pushes (0: healthy). */
  failures: number;
  /** No retry before this time (ms). */
  retryAt: number;
  /** Silenced by the breaker until this time (ms); 0 when closed. */
  silencedUntil: number;
}

/** Whether a push may be attempted now. */
export type DeliveryGate = 'ready' | 'backoff' | 'silenced';

/** The wait before retry number `failures` (1-based): initial × 2^(failures-1), at most maxBackoffMs. */
export function backoffMs(policy: PushRetryPolicy, failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.min(failures - 1, 30));
}

/** Whether a subscriber with `h` may be pushed at `now`. */
export function deliveryGate(h: DeliveryHealth, now: number): DeliveryGate {
  if (h.failures === 0) return 'ready';
  if (now < h.silencedUntil) return 'silenced';
  if (now < h.retryAt) return 'backoff';
  return 'ready';
}

/** When a subscriber with `h` may be pushed again (its gate is 'ready' from then on). */
export function readyAt(h: DeliveryHealth): number {
  return h.failures === 0 ? 0 : Math.max(h.retryAt, h.silencedUntil);
}

/**
 * The record after one more failure at `now`. The `breakerFailures`-th failure in a row opens the breaker
 * (silenced for `breakerOpenMs`); a failure after it closes (half-open) re-opens it at once.
 */
export function recordFailure(h: DeliveryHealth, now: number, policy: PushRetryPolicy): DeliveryHealth {
  const failures = h.failures + 1;
  if (failures >= policy.breakerFailures) {
    const silencedUntil = now + policy.breakerOpenMs;
    return { failures, retryAt: silencedUntil, silencedUntil };
  }
  return { failures, retryAt: now + backoffMs(policy, failures), silencedUntil: 0 };
}

/** The record after an acknowledged push: healthy again. */
export function recordSuccess(): DeliveryHealth {
  return { failures: 0, retryAt: 0, silencedUntil: 0 };
}

/** True when this failure is the one that opened the breaker (for logging and counting once). */
export function breakerOpened(before: DeliveryHealth, after: DeliveryHealth): boolean {
  return after.silencedUntil > before.silencedUntil;
}
