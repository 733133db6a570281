import { ChangeBatcher } from './change-batcher';

describe('ChangeBatcher', () => {
  it('coalesces changes of one dataInfoId to the highest version', () => {
    const b = new ChangeBatcher(10);
    b.add('a', 5);
    b.add('a', 3);
    b.add('a', 7);
    b.add('b', 1);
    expect(b.drain()).toEqual([
      { dataInfoId: 'a', version: 7 },
      { dataInfoId: 'b', version: 1 },
    ]);
    expect(b.size).toBe(0);
  });

  it('reports when the batch reaches its bound', () => {
    const b = new ChangeBatcher(2);
    expect(b.add('a', 1)).toBe(false);
    expect(b.add('b', 1)).toBe(true);
  });
});
