import { SeededRandom } from '@sofareg/model';
import { ChangeWindow, ChangeWindowOptions } from './change-window';

const opts: ChangeWindowOptions = { maxDelayMs: 100, stepMs: 5, quietMs: 50 };

/** A seeded source, so every run can be replayed from its seed. */
function prng(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.next();
}

describe('ChangeWindow', () => {
  it('fetches a change to a quiet dataInfoId at once', () => {
    const w = new ChangeWindow(opts);
    expect(w.change('d', 1_000)).toEqual({ type: 'now' });
    w.started('d', 1_000);
    expect(w.finished('d', 1_001)).toBeUndefined();
    expect(w.change('d', 1_060)).toEqual({ type: 'now' }); // 60 ms later: quiet again
  });

  it('merges changes during a running fetch into one more fetch after it', () => {
    const w = new ChangeWindow(opts);
    w.change('d', 0);
    w.started('d', 0);
    expect(w.change('d', 1)).toEqual({ type: 'merged' });
    expect(w.change('d', 2)).toEqual({ type: 'merged' });
    expect(w.finished('d', 3)).toEqual({ type: 'at', dueAt: 5 }); // piled up: the first merge step
    expect(w.change('d', 4)).toEqual({ type: 'merged' });
    expect(w.takeDue(4)).toEqual([]);
    expect(w.nextDue()).toBe(5);
    expect(w.takeDue(5)).toEqual(['d']);
    expect(w.nextDue()).toBeUndefined();
  });

  it('doubles the merge delay while changes pile up during fetches, up to the bound, and relaxes when they stop', () => {
    const w = new ChangeWindow(opts);
    const delays: number[] = [];
    let now = 0;
    w.change('d', now);
    w.started('d', now);
    for (let i = 0; i < 8; i++) {
      now += 1;
      expect(w.change('d', now)).toEqual({ type: 'merged' }); // arrives during the fetch
      const d = w.finished('d', now + 1);
      if (d?.type !== 'at') throw new Error(`expected a delayed fetch, got ${JSON.stringify(d)}`);
      delays.push(d.dueAt - (now - 1));
      now = d.dueAt;
      expect(w.takeDue(now)).toEqual(['d']);
    }
    expect(delays).toEqual([5, 10, 20, 40, 80, 100, 100, 100]);
    // A fetch with nothing arriving during it halves the delay; silence resets it.
    expect(w.finished('d', now + 1)).toBeUndefined();
    expect(w.change('d', now + 2)).toEqual({ type: 'at', dueAt: now + 50 });
    expect(w.takeDue(now + 50)).toEqual(['d']);
    expect(w.finished('d', now + 51)).toBeUndefined();
    expect(w.change('d', now + 51 + 50 + 2 * 25)).toEqual({ type: 'now' });
  });

  it('never delays changes that come one at a time, each after the previous was served', () => {
    const w = new ChangeWindow(opts);
    for (let now = 0; now < 100; now += 2) {
      expect(w.change('d', now)).toEqual({ type: 'now' });
      w.started('d', now);
      expect(w.finished('d', now + 1)).toBeUndefined();
    }
  });

  it('keeps dataInfoIds apart', () => {
    const w = new ChangeWindow(opts);
    w.change('a', 0);
    w.started('a', 0);
    expect(w.change('b', 0)).toEqual({ type: 'now' });
  });

  it('forgets idle dataInfoIds', () => {
    const w = new ChangeWindow(opts);
    w.change('a', 0);
    w.started('a', 0);
    w.finished('a', 1);
    w.prune(100);
    expect(w.size).toBe(1);
    w.prune(1_000);
    expect(w.size).toBe(0);
  });

  it('with merging off (maxDelayMs 0) fetches every change not merged into a running fetch at once', () => {
    const w = new ChangeWindow({ maxDelayMs: 0, stepMs: 0, quietMs: 1 });
    w.change('d', 0);
    w.started('d', 0);
    w.finished('d', 0);
    expect(w.change('d', 0)).toEqual({ type: 'now' });
  });

  it('serves every change within the bound, one fetch at a time, and bounds the fetch rate in a storm (random schedules)', () => {
    const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
    const rounds = Number(process.env.ROUNDS ?? 100);
    for (let r = 0; r < rounds; r++) {
      const rnd = prng(seed + r);
      const w = new ChangeWindow(opts);
      const fetchMs = Math.floor(rnd() * 20);
      const rate = rnd(); // probability of a change per ms
      let busyUntil = -1;
      let busy = false;
      let oldestUnserved: number | undefined; // first change not yet covered by a started fetch
      let inFlightEndsAt = -1;
      let fetches = 0;
      let changes = 0;
      let overlapped = false;
      let maxWait = 0;
      const start = (now: number) => {
        if (busy) overlapped = true;
        busy = true;
        fetches++;
        busyUntil = now + fetchMs;
        if (oldestUnserved !== undefined) {
          // A change during a running fetch waits for it, then at most the merge bound.
          maxWait = Math.max(maxWait, now - Math.max(oldestUnserved, inFlightEndsAt));
          oldestUnserved = undefined;
        }
        inFlightEndsAt = busyUntil;
      };
      const T = 3_000;
      for (let now = 0; now < T + 500; now++) {
        if (busy && now >= busyUntil) {
          busy = false;
          const d = w.finished('d', now);
          if (d?.type === 'now') {
            w.started('d', now);
            start(now);
          }
        }
        if (now < T && rnd() < rate) {
          if (oldestUnserved === undefined) oldestUnserved = now;
          changes++;
          const d = w.change('d', now);
          if (d.type === 'now') {
            w.started('d', now);
            start(now);
          }
        }
        for (const _id of w.takeDue(now)) start(now);
      }
      const where = `seed ${seed + r} (replay: SEED=${seed + r} ROUNDS=1): fetch ${fetchMs} ms, ${rate.toFixed(3)} changes/ms, ${changes} changes, ${fetches} fetches`;
      const dense = rate >= 0.5 && fetchMs >= 2; // a storm: changes keep arriving during every fetch
      const verdict = {
        where,
        oneAtATime: !overlapped,
        everyChangeServed: oldestUnserved === undefined,
        waitWithinBound: maxWait <= opts.maxDelayMs,
        noMoreFetchesThanChanges: fetches <= changes,
        // In a storm about one fetch per maxDelay (a fetch that nothing arrived during halves the delay once
        // in a while), plus the ramp-up (5, 10, 20, 40, 80 ms).
        stormMerged: !dense || fetches <= (T / opts.maxDelayMs) * 1.5 + 8,
      };
      expect(verdict).toEqual({
        where,
        oneAtATime: true,
        everyChangeServed: true,
        waitWithinBound: true,
        noMoreFetchesThanChanges: true,
        stormMerged: true,
      });
    }
    console.log(`change-window schedules: seed ${seed}, ${rounds} rounds`);
  });
});
