import { RaftLog } from './log';
import { SeededRandom } from './random';
import { MemoryStorage } from './storage';
import { Entry, EntryType } from './types';

const SEED = Number(process.env.RAFT_ORACLE_SEED ?? 20261126);
const ent = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array(0) });

/** Plain comparison (jest's expect is too slow for tens of thousands of checks). */
function eq(a: unknown, b: unknown): void {
  if (a !== b) throw new Error(`seed ${SEED}: expected ${String(b)}, got ${String(a)}`);
}

describe(`RaftLog against a naive array model (seed ${SEED})`, () => {
  it('agrees with a plain array on terms, slices and conflicts over 20,000 random operations', () => {
    const rnd = new SeededRandom(SEED);
    for (let round = 0; round < 400; round++) {
      const storage = new MemoryStorage();
      const log = new RaftLog(storage, Infinity);
      const model: number[] = [0]; // model[i] = term of entry i
      let term = 1;
      for (let op = 0; op < 50; op++) {
        const r = rnd.below(10);
        const last = model.length - 1;
        if (r < 5) {
          // append a batch after a random point at or above the commit index
          const after = log.committed + rnd.below(last - log.committed + 1);
          if (rnd.chance(0.3)) term++;
          const n = 1 + rnd.below(4);
          const es = Array.from({ length: n }, (_, i) => ent(after + 1 + i, term));
          const res = log.maybeAppend(after, model[after], log.committed, es);
          eq(res?.lastNew, after + n);
          // model: truncate on first conflict
          for (const e of es) {
            if (model[e.index] !== e.term) {
              model.length = e.index;
              break;
            }
          }
          for (const e of es) model[e.index] = e.term;
        } else if (r < 7) {
          // persist everything unstable
          const u = log.unstableEntries();
          if (u.length > 0) {
            storage.append(u);
            log.stableTo(u[u.length - 1].index, u[u.length - 1].term);
          }
        } else if (r < 9) {
          if (last > log.committed) log.commitTo(log.committed + 1 + rnd.below(last - log.committed));
        } else {
          // a mismatching prev term must be refused
          const at = rnd.below(last + 1);
          eq(log.maybeAppend(at, model[at] + 100, log.committed, [ent(at + 1, 999)]), undefined);
        }
        eq(log.lastIndex(), model.length - 1);
        for (let i = 0; i < model.length; i++) eq(log.term(i), model[i]);
        eq(log.term(model.length), undefined);
        const lo = 1 + rnd.below(model.length);
        const got = log.slice(lo, model.length).map((e) => e.term);
        if (got.join() !== model.slice(lo).join())
          throw new Error(`seed ${SEED} round ${round} op ${op}: slice mismatch`);
        // findConflictByTerm: largest i ≤ idx with term ≤ t
        const idx = rnd.below(model.length);
        const t = rnd.below(term + 1);
        let want = idx;
        while (want > 0 && model[want] > t) want--;
        eq(log.findConflictByTerm(idx, t).index, want);
      }
    }
  });
});
