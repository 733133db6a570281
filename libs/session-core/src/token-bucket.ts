/**
 * A token bucket for admission throttling: `ratePerSecond` tokens refill continuously up to `burst`. Pure:
 * time (ms) is passed in.
 */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1))
      throw new RangeError(`token bucket needs rate > 0 and burst >= 1 (got ${ratePerSecond}, ${burst})`);
    this.tokens = burst;
  }

  /** Takes one token at `now` if there is one. */
  tryTake(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Tokens available at `now` (fractional). */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  private refill(now: number): void {
    if (this.last !== undefined && now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1_000);
    }
    if (this.last === undefined || now > this.last) this.last = now;
  }
}
