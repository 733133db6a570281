import { SeededRandom, SimClock, SimNetwork } from './index';

describe('SimClock', () => {
  it('runs events in time order, then in scheduling order', () => {
    const clock = new SimClock();
    const seen: string[] = [];
    clock.after(5, () => seen.push('b'));
    clock.after(1, () => seen.push('a'));
    clock.after(5, () => seen.push('c'));
    expect(clock.runUntil(10)).toBe(3);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(clock.now).toBe(10);
  });

  it('waitFor stops where the condition holds and reports a missed deadline', () => {
    const clock = new SimClock();
    let n = 0;
    for (let t = 1; t <= 10; t++) clock.at(t * 10, () => n++);
    expect(clock.waitFor(() => n === 3, 1_000)).toBe(true);
    expect(clock.now).toBe(30);
    expect(clock.waitFor(() => n === 100, 60)).toBe(false);
    expect(clock.now).toBe(60);
    expect(n).toBe(6);
  });

  it('throws on a runaway loop instead of hanging', () => {
    const clock = new SimClock();
    const again = (): void => clock.after(0, again);
    again();
    expect(() => clock.runUntil(1, 1_000)).toThrow(/runaway/);
  });
});

describe('SimNetwork', () => {
  function net(seed = 1) {
    const clock = new SimClock();
    const network = new SimNetwork(clock, new SeededRandom(seed));
    network.setUp('a', true);
    network.setUp('b', true);
    return { clock, network };
  }

  it('answers a call, and times out across a cut', () => {
    const { clock, network } = net();
    const answers: (number | undefined)[] = [];
    network.call(
      'a',
      'b',
      () => 42,
      (x) => answers.push(x),
    );
    clock.runUntil(1_000);
    network.setCut('a', 'b', true);
    network.call(
      'a',
      'b',
      () => 43,
      (x) => answers.push(x),
    );
    clock.runUntil(2_000);
    expect(answers).toEqual([42, undefined]);
  });

  it('delivers nothing to a node that restarted since the message left', () => {
    const { clock, network } = net();
    let delivered = 0;
    network.faults.minDelayMs = network.faults.maxDelayMs = 10;
    network.send('a', 'b', () => delivered++);
    clock.runUntil(5);
    network.setUp('b', false);
    network.setUp('b', true);
    clock.runUntil(100);
    expect(delivered).toBe(0);
  });

  it('duplicates legs at the configured rate, and a call still settles once', () => {
    const { clock, network } = net(7);
    network.faults.duplicateRate = 1;
    let handled = 0;
    let settled = 0;
    network.call(
      'a',
      'b',
      () => ++handled,
      () => settled++,
    );
    clock.runUntil(1_000);
    expect(handled).toBe(2);
    expect(settled).toBe(1);
  });

  it('answers a request when its handler responds, not before, and never from a crashed server', () => {
    const { clock, network } = net();
    const answers: (string | undefined)[] = [];
    let respond: ((x: string) => void) | undefined;
    network.request<string>(
      'a',
      'b',
      (r) => (respond = r),
      (x) => answers.push(x),
      1_000,
    );
    clock.runUntil(100);
    expect(answers).toEqual([]);
    respond?.('late');
    clock.runUntil(200);
    expect(answers).toEqual(['late']);
    network.request<string>(
      'a',
      'b',
      (r) => (respond = r),
      (x) => answers.push(x),
      500,
    );
    clock.runUntil(300);
    network.setUp('b', false);
    network.setUp('b', true);
    respond?.('from the old incarnation');
    clock.runUntil(1_000);
    expect(answers).toEqual(['late', undefined]);
  });

  it('is a pure function of its seed', () => {
    const run = (seed: number) => {
      const { clock, network } = net(seed);
      network.faults.dropRate = 0.3;
      network.faults.duplicateRate = 0.3;
      const seen: string[] = [];
      for (let i = 0; i < 50; i++) network.send('a', 'b', () => seen.push(`${i}@${clock.now}`));
      clock.runUntil(1_000);
      return seen.join(',');
    };
    expect(run(3)).toBe(run(3));
    expect(run(3)).not.toBe(run(4));
  });
});
