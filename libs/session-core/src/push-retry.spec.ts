import {
  DEFAULT_PUSH_RETRY_POLICY,
  DeliveryHealth,
  PushRetryPolicy,
  backoffMs,
  breakerOpened,
  deliveryGate,
  recordFailure,
  recordSuccess,
} from './push-retry';

const policy: PushRetryPolicy = {
  ackTimeoutMs: 1_000,
  initialBackoffMs: 100,
  maxBackoffMs: 1_000,
  breakerFailures: 4,
  breakerOpenMs: 10_000,
};

describe('push retry decisions', () => {
  it('backs off exponentially from the initial wait up to the bound', () => {
    expect([1, 2, 3, 4, 5, 60].map((n) => backoffMs(policy, n))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(backoffMs(policy, 0)).toBe(0);
  });

  it('is ready when healthy, waits out the backoff, then is ready again', () => {
    let h: DeliveryHealth = recordSuccess();
    expect(deliveryGate(h, 0)).toBe('ready');
    h = recordFailure(h, 1_000, policy);
    expect(h).toEqual({ failures: 1, retryAt: 1_100, silencedUntil: 0 });
    expect(deliveryGate(h, 1_099)).toBe('backoff');
    expect(deliveryGate(h, 1_100)).toBe('ready');
    h = recordFailure(h, 1_100, policy);
    expect(h.retryAt).toBe(1_300);
  });

  it('silences a subscriber after breakerFailures failures in a row, and re-silences it after one more failure', () => {
    let h: DeliveryHealth = recordSuccess();
    let now = 0;
    const opened: number[] = [];
    for (let i = 1; i <= 4; i++) {
      const next = recordFailure(h, now, policy);
      if (breakerOpened(h, next)) opened.push(i);
      h = next;
      now = h.retryAt;
    }
    expect(opened).toEqual([4]);
    expect(h.silencedUntil).toBe(h.retryAt);
    expect(deliveryGate(h, h.silencedUntil - 1)).toBe('silenced');
    expect(deliveryGate(h, h.silencedUntil)).toBe('ready'); // half-open: one attempt
    const again = recordFailure(h, h.silencedUntil + 5, policy);
    expect(breakerOpened(h, again)).toBe(true);
    expect(deliveryGate(again, h.silencedUntil + 6)).toBe('silenced');
  });

  it('is healthy again after one acknowledged push', () => {
    const h = recordFailure(recordFailure(recordSuccess(), 0, policy), 0, policy);
    expect(deliveryGate(recordSuccess(), 0)).toBe('ready');
    expect(h.failures).toBe(2);
  });

  it('has defaults that retry within a second and silence for tens of seconds', () => {
    expect(DEFAULT_PUSH_RETRY_POLICY.initialBackoffMs).toBeLessThan(1_000);
    expect(DEFAULT_PUSH_RETRY_POLICY.breakerOpenMs).toBeGreaterThanOrEqual(10_000);
  });
});
