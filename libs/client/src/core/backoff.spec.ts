import { seededRandom } from '../testing/manual-clock';
import { backoffDelay, DEFAULT_RECONNECT_POLICY } from './backoff';

describe('backoffDelay', () => {
  const policy = DEFAULT_RECONNECT_POLICY;

  it('retries the first time well under a second', () => {
    expect(backoffDelay(policy, 1, () => 0)).toBe(100);
    expect(backoffDelay(policy, 1, () => 0.999999)).toBe(200);
  });

  it('doubles the base delay per attempt up to the cap', () => {
    const mid = (attempt: number) => backoffDelay({ ...policy, jitter: 0 }, attempt, () => 0.5);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(mid)).toEqual([200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
  });

  it('stays within [base*(1-jitter), base] and is finite for huge attempts, on random inputs', () => {
    const seed = Number(process.env.SEED ?? 0x5eed);
    console.log(`backoff property seed=${seed} (replay with SEED=${seed})`);
    const random = seededRandom(seed);
    for (let i = 0; i < 10_000; i++) {
      const attempt = 1 + Math.floor(random() * 80);
      const jitter = random();
      const p = { ...policy, jitter };
      const base = Math.min(p.maxDelayMs, p.initialDelayMs * Math.pow(p.multiplier, Math.min(attempt - 1, 64)));
      const d = backoffDelay(p, attempt, random);
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)));
      expect(d).toBeLessThanOrEqual(Math.ceil(base));
    }
    expect(backoffDelay(policy, 1e9, () => 0.5)).toBeLessThanOrEqual(10_000);
  });

  it('treats attempt 0 or less as the first retry and clamps a misbehaving random source', () => {
    expect(backoffDelay(policy, 0, () => 0)).toBe(100);
    expect(backoffDelay(policy, 1, () => 7)).toBe(200);
    expect(backoffDelay(policy, 1, () => -1)).toBe(100);
  });
});
