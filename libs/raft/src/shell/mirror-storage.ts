import {
  type ConfState,
  EMPTY_HARD_STATE,
  type Entry,
  type HardState,
  type InitialState,
  RaftError,
  type Snapshot,
  type Storage,
  limitSize,
} from '../core';

const EMPTY_SNAPSHOT: Snapshot = { meta: { index: 0, term: 0, conf: { voters: [], learners: [] } }, data: new Uint8Array(0) };

/**
 * The core's synchronous {@link Storage}, kept in memory as a mirror of the durable stores: the log since
 * the last compaction point and the latest snapshot. The shell writes every durable change here too, in the
 * same order, so the core reads exactly what is (or is being made) durable. Appends at the end are O(1)
 * amortized; compaction copies the kept tail (it runs once per snapshot interval).
 */
export class MirrorStorage implements Storage {
  private hard: HardState = { ...EMPTY_HARD_STATE };
  private snap: Snapshot = EMPTY_SNAPSHOT;
  /** Compaction point: `ents[k].index === base + 1 + k`. */
  private base = 0;
  private baseTerm = 0;
  private ents: Entry[] = [];

  initialState(): InitialState {
    return { hardState: { ...this.hard }, confState: { voters: [...this.snap.meta.conf.voters], learners: [...this.snap.meta.conf.learners] } };
  }

  /** Sets what `initialState()` reports (only read when the core starts). */
  setHardState(hs: HardState): void {
    this.hard = { ...hs };
  }

  entries(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo <= this.base) throw new RaftError('Compacted', `entries(${lo}): compacted up to ${this.base}`);
    if (hi > this.lastIndex() + 1) throw new RaftError('Unavailable', `entries(..${hi}): last index is ${this.lastIndex()}`);
    if (lo >= hi) return [];
    return limitSize(this.ents.slice(lo - this.base - 1, hi - this.base - 1), maxBytes);
  }

  term(i: number): number | undefined {
    if (i === this.base) return this.baseTerm;
    if (i < this.base || i > this.base + this.ents.length) return undefined;
    return this.ents[i - this.base - 1].term;
  }

  firstIndex(): number {
    return this.base + 1;
  }

  lastIndex(): number {
    return this.base + this.ents.length;
  }

  snapshot(): Snapshot | undefined {
    return this.snap;
  }

  /** The latest snapshot's index (0 when none). */
  snapshotIndex(): number {
    return this.snap.meta.index;
  }

  /**
   * Appends entries, discarding any existing entries at the same or later indexes; entries at or below the
   * compaction point are skipped. Throws RaftError `ContractViolation` on a gap.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    let es = entries;
    if (es[0].index <= this.base) {
      es = es.slice(this.base + 1 - es[0].index);
      if (es.length === 0) return;
    }
    const from = es[0].index;
    const last = this.lastIndex();
    if (from > last + 1) throw new RaftError('ContractViolation', `append: gap between last index ${last} and ${from}`);
    if (from <= last) this.ents.length = from - this.base - 1;
    for (const e of es) this.ents.push(e);
  }

  /** Replaces everything with `snap` (a snapshot received from the leader). */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index < this.snap.meta.index) {
      throw new RaftError('SnapshotOutOfDate', `snapshot ${snap.meta.index} older than ${this.snap.meta.index}`);
    }
    this.snap = snap;
    this.base = snap.meta.index;
    this.baseTerm = snap.meta.term;
    this.ents = [];
  }

  /**
   * Records a snapshot taken at applied index `index` (the log is not compacted; see {@link compact}).
   * Throws RaftError `SnapshotOutOfDate` when a newer snapshot is held, `Unavailable` when `index` is not in
   * the log.
   */
  createSnapshot(index: number, term: number, conf: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.meta.index) throw new RaftError('SnapshotOutOfDate', `snapshot ${index} not newer than ${this.snap.meta.index}`);
    if (this.term(index) !== term) throw new RaftError('Unavailable', `snapshot at ${index} (term ${term}) does not match the log`);
    this.snap = { meta: { index, term, conf: { voters: [...conf.voters], learners: [...conf.learners] } }, data };
    return this.snap;
  }

  /** Drops entries ≤ `upTo` (which must not exceed the latest snapshot's index). No-op below the first index. */
  compact(upTo: number): void {
    if (upTo <= this.base) return;
    if (upTo > this.snap.meta.index) throw new RaftError('ContractViolation', `compact(${upTo}) beyond the snapshot at ${this.snap.meta.index}`);
    if (upTo > this.lastIndex()) throw new RaftError('Unavailable', `compact(${upTo}) beyond last index ${this.lastIndex()}`);
    const t = this.term(upTo) as number;
    this.ents = this.ents.slice(upTo - this.base);
    this.base = upTo;
    this.baseTerm = t;
  }

  /** Every entry held (for scanning membership changes at start). */
  allEntries(): readonly Entry[] {
    return this.ents;
  }
}
