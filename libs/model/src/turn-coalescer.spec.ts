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
