import { type Entry, EntryType, MemoryStorage, SeededRandom } from '../core';
import { testSeed } from './local-cluster.spec-util';
import { MirrorStorage } from './mirror-storage';

const CONF = { voters: ['a'], learners: [] };

/** The same operations on MirrorStorage and on the core's MemoryStorage (the oracle) must read the same. */
describe('MirrorStorage against MemoryStorage', () => {
  it('agrees on random appends, truncations, snapshots and compactions', () => {
    const seed = testSeed('mirror-storage');
    const rnd = new SeededRandom(seed);
    for (let round = 0; round < 200; round++) {
      const m = new MirrorStorage();
      const o = new MemoryStorage();
      let term = 1;
      for (let step = 0; step < 60; step++) {
        const op = rnd.int(10);
        const last = o.lastIndex();
        const first = o.firstIndex();
        if (op < 6) {
          // append (maybe overwriting a suffix newer than the snapshot: older entries are committed)
          const floor = Math.max(first, (o.snapshot()?.meta.index ?? 0) + 1);
          const from = last < floor ? last + 1 : rnd.range(floor, last + 1);
          if (rnd.chance(0.2)) term++;
          const n = rnd.range(1, 5);
          const es: Entry[] = Array.from({ length: n }, (_, k) => ({ index: from + k, term, type: EntryType.Normal, data: new Uint8Array([k]) }));
          m.append(es);
          o.append(es);
        } else if (op < 8 && last > (o.snapshot()?.meta.index ?? 0) && last >= first) {
          // snapshot at some index newer than the last one, then compact below it
          const at = rnd.range(Math.max(first, (o.snapshot()?.meta.index ?? 0) + 1), last);
          const t = o.term(at) as number;
          o.createSnapshot(at, CONF, new Uint8Array([at]));
          m.createSnapshot(at, t, CONF, new Uint8Array([at]));
          const upTo = rnd.range(first - 1, at);
          o.compact(upTo);
          m.compact(upTo);
        } else if (op === 8) {
          // install a snapshot from a leader
          const at = last + rnd.range(1, 10);
          const snap = { meta: { index: at, term: term + 1, conf: CONF }, data: new Uint8Array([1]) };
          term++;
          o.applySnapshot(snap);
          m.applySnapshot(snap);
        }
        expect([m.firstIndex(), m.lastIndex()]).toEqual([o.firstIndex(), o.lastIndex()]);
        for (let i = o.firstIndex() - 2; i <= o.lastIndex() + 1; i++) expect(m.term(i)).toBe(o.term(i));
        if (o.lastIndex() >= o.firstIndex()) {
          const lo = rnd.range(o.firstIndex(), o.lastIndex());
          const hi = rnd.range(lo, o.lastIndex()) + 1;
          expect(m.entries(lo, hi, 100).map((e) => [e.index, e.term])).toEqual(o.entries(lo, hi, 100).map((e) => [e.index, e.term]));
        }
        expect(m.snapshot()?.meta.index).toBe(o.snapshot()?.meta.index);
        expect(() => m.entries(o.firstIndex() - 1, o.firstIndex())).toThrow(o.firstIndex() - 1 > 0 ? 'compacted' : /./);
      }
    }
  });
});
