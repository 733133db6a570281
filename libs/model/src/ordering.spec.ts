import { compareStamps, nextDatumVersion } from './ordering';

describe('compareStamps', () => {
  it('orders by version first, then by registration time', () => {
    expect(compareStamps({ version: 2, registerTimestamp: 1 }, { version: 1, registerTimestamp: 9 })).toBeGreaterThan(
      0,
    );
    expect(compareStamps({ version: 1, registerTimestamp: 5 }, { version: 1, registerTimestamp: 9 })).toBeLessThan(0);
    expect(compareStamps({ version: 3, registerTimestamp: 7 }, { version: 3, registerTimestamp: 7 })).toBe(0);
  });
});

describe('nextDatumVersion', () => {
  it('increases strictly even when the clock stands still or goes back', () => {
    let v = 0;
    const seen: number[] = [];
    for (const now of [1000, 1000, 1000, 999, 500, 1001]) {
      v = nextDatumVersion(v, now);
      seen.push(v);
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
  });

  it('jumps to the clock so a new leader continues above the old one', () => {
    expect(nextDatumVersion(5, 2_000)).toBe(2_000_000);
  });
});
