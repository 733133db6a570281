import { Inflights, Progress, ProgressState } from './progress';
import { SeededRandom } from './random';

const SEED = Number(process.env.RAFT_ORACLE_SEED ?? 20261126);

/** Plain comparison (jest's expect is too slow for tens of thousands of checks). */
function eq(a: unknown, b: unknown): void {
  if (a !== b) throw new Error(`seed ${SEED}: expected ${String(b)}, got ${String(a)}`);
}

describe(`progress tracking against naive models (seed ${SEED})`, () => {
  it('Inflights behaves as a bounded FIFO over 30,000 random operations', () => {
    const rnd = new SeededRandom(SEED);
    for (let round = 0; round < 300; round++) {
      const cap = 1 + rnd.below(8);
      const inf = new Inflights(cap);
      const model: number[] = [];
      let last = 0;
      for (let op = 0; op < 100; op++) {
        const r = rnd.below(10);
        if (r < 5) {
          if (model.length === cap) {
            expect(() => inf.add(last + 1)).toThrow();
            continue;
          }
          last += 1 + rnd.below(3);
          inf.add(last);
          model.push(last);
        } else if (r < 9) {
          const to = last - rnd.below(6);
          inf.freeLE(to);
          while (model.length > 0 && model[0] <= to) model.shift();
        } else {
          inf.reset();
          model.length = 0;
        }
        if (inf.full() !== (model.length === cap) || inf.count() !== model.length) {
          throw new Error(`seed ${SEED} round ${round} op ${op}: ${inf.toArray()} vs ${model}`);
        }
        eq(inf.toArray().join(), model.join());
      }
    }
  });

  it('keeps match ≤ next-1 and never moves match backwards under random acks and rejections', () => {
    const rnd = new SeededRandom(SEED + 5);
    for (let round = 0; round < 2000; round++) {
      const lastIndex = 5 + rnd.below(50);
      const pr = new Progress(lastIndex + 1, 1 + rnd.below(4), false);
      let match = 0;
      for (let op = 0; op < 30; op++) {
        const r = rnd.below(6);
        if (r === 0) {
          const n = rnd.below(lastIndex + 1);
          const updated = pr.maybeUpdate(n);
          eq(updated, n > match);
          match = Math.max(match, n);
        } else if (r === 1) {
          pr.maybeDecrTo(pr.next - 1, rnd.below(lastIndex + 1));
        } else if (r === 2 && !pr.isPaused()) {
          const last = Math.min(lastIndex, pr.next + rnd.below(3));
          pr.sentEntries(last, last >= pr.next);
        } else if (r === 3) {
          pr.becomeProbe();
        } else if (r === 4 && pr.state === ProgressState.Probe) {
          pr.becomeReplicate();
        } else if (r === 5) {
          pr.becomeSnapshot(match + rnd.below(10));
          pr.becomeProbe();
        }
        eq(pr.match, match);
        eq(pr.next > pr.match, true);
        if (pr.state === ProgressState.Replicate) eq(pr.inflights.count() <= pr.inflights.capacity, true);
      }
    }
  });

  it('pauses a probing follower after one send and resumes on an ack', () => {
    const pr = new Progress(11, 4, false);
    eq(pr.isPaused(), false);
    pr.sentEntries(12, true);
    eq(pr.isPaused(), true);
    eq(pr.maybeUpdate(12), true);
    eq(pr.isPaused(), false);
  });

  it('streams up to the inflight bound in Replicate state', () => {
    const pr = new Progress(1, 3, false);
    pr.becomeReplicate();
    for (let i = 1; i <= 3; i++) pr.sentEntries(i, true);
    eq(pr.isPaused(), true);
    eq(pr.next, 4);
    pr.maybeUpdate(2);
    pr.inflights.freeLE(2);
    eq(pr.isPaused(), false);
  });
});
