import { TokenBucket } from './token-bucket';

describe('TokenBucket', () => {
  it('admits a burst at once, then at the rate', () => {
    const b = new TokenBucket(10, 5);
    let admitted = 0;
    for (let i = 0; i < 20; i++) if (b.tryTake(0)) admitted++;
    expect(admitted).toBe(5);
    expect(b.tryTake(50)).toBe(false); // half a token
    expect(b.tryTake(100)).toBe(true);
    expect(b.available(10_000)).toBe(5); // capped at the burst
  });

  it('ignores time going backwards', () => {
    const b = new TokenBucket(1, 1);
    expect(b.tryTake(1_000)).toBe(true);
    expect(b.tryTake(0)).toBe(false);
    expect(b.tryTake(2_000)).toBe(true);
  });

  it('refuses nonsense settings', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(RangeError);
    expect(() => new TokenBucket(1, 0)).toThrow(RangeError);
  });
});
