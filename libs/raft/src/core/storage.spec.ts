import { SeededRandom } from '@sofareg/model';
import { MemoryStorage } from './storage';
import { type Entry, EntryType } from './types';

const CONF = { voters: ['a'], learners: [] };
const SEED = 20_261_204;

/** The naive oracle: every entry by index, the snapshot's index and term, and the compaction point. */
class NaiveLog {
  readonly byIndex = new Map<number, Entry>();
  base = 0;
  baseTerm = 0;
  snapIndex = 0;
  last = 0;

  append(es: Entry[]): void {
    for (const e of es) {
      if (e.index <= this.base) continue;
      for (let i = e.index; i <= this.last; i++) this.byIndex.delete(i);
      this.byIndex.set(e.index, e);
      this.last = e.index;
    }
  }

  term(i: number): number | undefined {
    if (i === this.base) return this.baseTerm;
    return this.byIndex.get(i)?.term;
  }

  compact(upTo: number): void {
    if (upTo <= this.base) return;
    this.baseTerm = this.term(upTo) as number;
    for (let i = this.base + 1; i <= upTo; i++) this.byIndex.delete(i);
    this.base = upTo;
  }

  reset(index: number, term: number): void {
    this.byIndex.clear();
    this.base = this.last = this.snapIndex = index;
    this.baseTerm = term;
  }
}

function entry(index: number, term: number): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array([index & 0xff]) };
}

describe('MemoryStorage against a naive log', () => {
  it('agrees on random appends, truncations, snapshots, compactions and installed snapshots', () => {
    const rnd = new SeededRandom(SEED);
    for (let round = 0; round < 80; round++) {
      const s = new MemoryStorage();
      const o = new NaiveLog();
      let term = 1;
      for (let step = 0; step < 60; step++) {
        const op = rnd.below(10);
        if (op < 6) {
          // Append, maybe overwriting a suffix newer than the snapshot (what is older is committed).
          const floor = Math.max(o.base, o.snapIndex) + 1;
          const from = o.last < floor ? o.last + 1 : rnd.int(floor, o.last + 1);
          if (rnd.chance(0.2)) term++;
          const es = Array.from({ length: rnd.int(1, 5) }, (_, k) => entry(from + k, term));
          s.append(es);
          o.append(es);
        } else if (op < 8 && o.last > Math.max(o.snapIndex, o.base)) {
          // Snapshot at an index newer than the last one, then compact at or below it.
          const at = rnd.int(Math.max(o.snapIndex, o.base) + 1, o.last);
          expect(s.createSnapshot(at, CONF, new Uint8Array([1])).meta).toEqual({
            index: at,
            term: o.term(at),
            conf: CONF,
          });
          o.snapIndex = at;
          const upTo = rnd.int(o.base, at);
          s.compact(upTo);
          o.compact(upTo);
        } else if (op === 8) {
          // Install a snapshot from a leader.
          const at = o.last + rnd.int(1, 10);
          term++;
          s.applySnapshot({ meta: { index: at, term, conf: CONF }, data: new Uint8Array([1]) });
          o.reset(at, term);
        }
        expect([s.firstIndex(), s.lastIndex(), s.snapshotIndex()]).toEqual([o.base + 1, o.last, o.snapIndex]);
        for (let i = o.base - 1; i <= o.last + 1; i++) expect(s.term(i)).toBe(o.term(i));
        expect(s.allEntries().map((e) => e.index)).toEqual([...o.byIndex.keys()].sort((a, b) => a - b));
        if (o.last > o.base) {
          const lo = rnd.int(o.base + 1, o.last);
          const hi = rnd.int(lo, o.last) + 1;
          const want = Array.from({ length: hi - lo }, (_, k) => o.byIndex.get(lo + k));
          expect(s.entries(lo, hi)).toEqual(want);
        }
        if (o.base > 0) expect(() => s.entries(o.base, o.base + 1)).toThrow('compacted');
      }
    }
  });

  it('refuses a gap, a compaction beyond the snapshot, and an older snapshot', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1), entry(2, 1), entry(3, 2)]);
    expect(() => s.append([entry(5, 2)])).toThrow(/gap/);
    expect(() => s.compact(2)).toThrow(/beyond the snapshot/);
    s.createSnapshot(2, CONF, new Uint8Array(0));
    s.compact(2);
    expect([s.firstIndex(), s.term(2), s.term(1)]).toEqual([3, 1, undefined]);
    expect(() => s.createSnapshot(2, CONF, new Uint8Array(0))).toThrow(/not newer/);
    s.applySnapshot({ meta: { index: 10, term: 3, conf: CONF }, data: new Uint8Array(0) });
    expect(() => s.applySnapshot({ meta: { index: 9, term: 3, conf: CONF }, data: new Uint8Array(0) })).toThrow(
      /older/,
    );
    expect([s.firstIndex(), s.lastIndex(), s.term(10)]).toEqual([11, 10, 3]);
  });

  it('persists a Ready: the snapshot first, then the entries after it, then the hard state', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1), entry(2, 1)]);
    const snapshot = { meta: { index: 5, term: 2, conf: CONF }, data: new Uint8Array(0) };
    s.persist({ snapshot, entries: [entry(6, 2), entry(7, 3)], hardState: { term: 3, vote: 'a', commit: 6 } });
    expect([s.firstIndex(), s.lastIndex(), s.term(5), s.term(7), s.hardState().commit]).toEqual([6, 7, 2, 3, 6]);
    s.persist({ entries: [] });
    expect([s.lastIndex(), s.hardState().term]).toEqual([7, 3]);
  });

  it('returns the hard state it saved, as a copy', () => {
    const s = new MemoryStorage();
    const hs = { term: 3, vote: 'a', commit: 2 };
    s.setHardState(hs);
    hs.term = 9;
    expect(s.hardState()).toEqual({ term: 3, vote: 'a', commit: 2 });
    expect(s.initialState().hardState).toEqual({ term: 3, vote: 'a', commit: 2 });
  });
});
