import { digestRegistrations } from './digest';

describe('digestRegistrations', () => {
  const a = { registerId: 'a', version: 1, registerTimestamp: 10 };
  const b = { registerId: 'b', version: 2, registerTimestamp: 20 };

  it('does not depend on order', () => {
    expect(digestRegistrations([a, b])).toEqual(digestRegistrations([b, a]));
  });

  it('changes with any stamp or membership change', () => {
    const base = digestRegistrations([a, b]);
    expect(digestRegistrations([a, { ...b, version: 3 }])).not.toEqual(base);
    expect(digestRegistrations([a, { ...b, registerTimestamp: 21 }])).not.toEqual(base);
    expect(digestRegistrations([a])).toEqual({ count: 1, hash: expect.any(Number) });
    expect(digestRegistrations([])).toEqual({ count: 0, hash: 0 });
  });
});
