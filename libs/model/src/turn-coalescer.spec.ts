import { TurnCoalescer } from './turn-coalescer';

/** A coalescer whose turns end when the test says. */
function harness() {
  const turns: (() => void)[] = [];
  const delivered: [string, number[]][] = [];
  const c = new TurnCoalescer<string, number>(
    (run) => turns.push(run),
    (sink, items) => delivered.push([sink, items]),
  );
  const endTurn = () => turns.splice(0).forEach((run) => run());
  return { c, delivered, endTurn, turns };
}

describe('TurnCoalescer', () => {
  it('delivers each sink its items of one turn together, in order, once the turn ends', () => {
    const { c, delivered, endTurn, turns } = harness();
    c.add('a', 1);
    c.add('b', 10);
    c.add('a', 2);
    c.add('a', 3);
    expect(turns).toHaveLength(1);
    expect(delivered).toEqual([]);
    endTurn();
    expect(delivered).toEqual([
      ['a', [1, 2, 3]],
      ['b', [10]],
    ]);
  });

  it('schedules one flush per turn and a new one for the next', () => {
    const { c, delivered, endTurn, turns } = harness();
    c.add('a', 1);
    endTurn();
    c.add('a', 2);
    expect(turns).toHaveLength(1);
    endTurn();
    expect(delivered).toEqual([
      ['a', [1]],
      ['a', [2]],
    ]);
  });

  it('flushes one sink on demand and keeps the others for the end of the turn', () => {
    const { c, delivered, endTurn } = harness();
    c.add('a', 1);
    c.add('b', 2);
    expect(c.queued('a')).toBe(1);
    c.flushSink('a');
    expect(delivered).toEqual([['a', [1]]]);
    expect(c.queued('a')).toBe(0);
    c.flushSink('a');
    endTurn();
    expect(delivered).toEqual([
      ['a', [1]],
      ['b', [2]],
    ]);
  });

  it('drops what a closed sink had queued', () => {
    const { c, delivered, endTurn } = harness();
    c.add('a', 1);
    c.drop('a');
    endTurn();
    expect(delivered).toEqual([]);
  });

  it('leaves what a delivery queues for the next turn', () => {
    const turns: (() => void)[] = [];
    const delivered: [string, number[]][] = [];
    const c: TurnCoalescer<string, number> = new TurnCoalescer<string, number>(
      (run) => turns.push(run),
      (sink, items) => {
        delivered.push([sink, items]);
        if (sink === 'a') c.add('b', items[0] * 10);
      },
    );
    c.add('a', 1);
    turns.splice(0).forEach((run) => run());
    expect(delivered).toEqual([['a', [1]]]);
    turns.splice(0).forEach((run) => run());
    expect(delivered).toEqual([
      ['a', [1]],
      ['b', [10]],
    ]);
  });
});

describe('TurnCoalescer bounds', () => {
  it('splits a burst into deliveries of at most maxItems items and maxBytes bytes, keeping order', () => {
    const turns: (() => void)[] = [];
    const delivered: number[][] = [];
    const c = new TurnCoalescer<string, number>(
      (run) => turns.push(run),
      (_s, items) => delivered.push(items),
      { maxItems: 3, maxBytes: 10, sizeOf: (n) => n },
    );
    for (const n of [1, 1, 1, 1, 4, 4, 4, 20, 1]) c.add('a', n);
    turns.splice(0).forEach((run) => run());
    // [1,1,1] hits maxItems; [1,4,4] is 9 bytes and 4 more would pass 10; 20 alone is over maxBytes but a
    // delivery always takes its first item.
    expect(delivered).toEqual([[1, 1, 1], [1, 4, 4], [4], [20], [1]]);
  });

  it('bounds what flushSink delivers too', () => {
    const delivered: number[][] = [];
    const c = new TurnCoalescer<string, number>(
      () => undefined,
      (_s, items) => delivered.push(items),
      { maxItems: 2 },
    );
    [1, 2, 3, 4, 5].forEach((n) => c.add('a', n));
    c.flushSink('a');
    expect(delivered).toEqual([[1, 2], [3, 4], [5]]);
  });
});
