import { cloneConfState } from './conf-change';
import { RaftError } from './errors';
import { ConfState, EMPTY_HARD_STATE, Entry, HardState, Snapshot, entrySize } from './types';

/** What a node restarts from. */
export interface InitialState {
  hardState: HardState;
  /** The membership of the latest snapshot (the log after it may change it). */
  confState: ConfState;
}

/**
 * The read side of a node's durable state, as the core sees it. The application writes to it what each
 * `Ready` asks (entries, hard state, snapshot) *before* calling `advance`, and compacts it when it takes
 * snapshots; the core only reads. Reads are synchronous: a durable implementation keeps what it needs in
 * memory (or an index into it).
 *
 * Log indexes run from `firstIndex()` to `lastIndex()`; `firstIndex() - 1` is the index of the latest
 * snapshot (0 when none), whose term `term()` must still answer.
 */
export interface Storage {
  /** The saved hard state and the membership of the latest snapshot. */
  initialState(): InitialState;
  /**
   * Entries in [lo, hi), at least one if lo < hi, then as many as fit in `maxBytes` (sum of
   * {@link entrySize}). Throws RaftError `Compacted` when lo < firstIndex, `Unavailable` when hi > lastIndex+1.
   */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /** Term of entry `i` for firstIndex-1 ≤ i ≤ lastIndex, else undefined. */
  term(i: number): number | undefined;
  /** Index of the first entry kept (snapshot index + 1). */
  firstIndex(): number;
  /** Index of the last entry (the snapshot index when the log is empty). */
  lastIndex(): number;
  /** The latest snapshot, or undefined when it is temporarily unavailable (the leader retries later). */
  snapshot(): Snapshot | undefined;
}

const EMPTY_SNAPSHOT: Snapshot = {
  meta: { index: 0, term: 0, conf: { voters: [], learners: [] } },
  data: new Uint8Array(0),
};

/**
 * An in-memory {@link Storage} with the write operations an application performs: the log since the last
 * compaction point, the latest snapshot and the hard state. Serves tests and the simulations as the whole
 * storage, and the shell as the synchronous mirror of its durable stores (it writes every durable change here
 * too, in the same order, so the core reads exactly what is, or is being made, durable). Appends at the end
 * are O(1) amortized; compaction copies the kept tail (once per snapshot). Entries are kept as given (not
 * copied).
 */
export class MemoryStorage implements Storage {
  private hard: HardState = { ...EMPTY_HARD_STATE };
  private snap: Snapshot = EMPTY_SNAPSHOT;
  /** Compaction point: `ents[k].index === base + 1 + k`. */
  private base = 0;
  private baseTerm = 0;
  private ents: Entry[] = [];

  /** The saved hard state and the snapshot's membership. */
  initialState(): InitialState {
    return { hardState: { ...this.hard }, confState: cloneConfState(this.snap.meta.conf) };
  }

  /** Saves the hard state (what `Ready.hardState` asks). */
  setHardState(hs: HardState): void {
    this.hard = { ...hs };
  }

  /** The saved hard state. */
  hardState(): HardState {
    return { ...this.hard };
  }

  entries(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo <= this.base) throw new RaftError('Compacted', `entries(${lo}): compacted up to ${this.base}`);
    if (hi > this.lastIndex() + 1) {
      throw new RaftError('Unavailable', `entries(..${hi}): last index is ${this.lastIndex()}`);
    }
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

  /** Every entry held, oldest first (for scanning membership changes at start). Not a copy: do not modify. */
  allEntries(): readonly Entry[] {
    return this.ents;
  }

  /**
   * Replaces the contents with a snapshot (what `Ready.snapshot` asks). Throws `SnapshotOutOfDate` if older
   * than the one held.
   */
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
   * Records a snapshot of the state machine at applied index `i` with membership `conf` (from
   * `RawNode.confStateAt(i)`); the log is not compacted (see {@link compact}). Returns the snapshot. Throws
   * `SnapshotOutOfDate` unless it is newer than the one held, `Unavailable` when `i` is not in the log.
   */
  createSnapshot(i: number, conf: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.snap.meta.index) {
      throw new RaftError('SnapshotOutOfDate', `snapshot ${i} not newer than ${this.snap.meta.index}`);
    }
    const t = this.term(i);
    if (t === undefined) throw new RaftError('Unavailable', `createSnapshot(${i}): index not in log`);
    this.snap = { meta: { index: i, term: t, conf: cloneConfState(conf) }, data };
    return this.snap;
  }

  /**
   * Discards entries ≤ `upTo`, which must not exceed the latest snapshot's index (what is dropped must be
   * covered by it). No-op at or below the compaction point.
   */
  compact(upTo: number): void {
    if (upTo <= this.base) return;
    if (upTo > this.snap.meta.index) {
      throw new RaftError('ContractViolation', `compact(${upTo}) beyond the snapshot at ${this.snap.meta.index}`);
    }
    if (upTo > this.lastIndex()) {
      throw new RaftError('Unavailable', `compact(${upTo}) beyond last index ${this.lastIndex()}`);
    }
    const t = this.term(upTo) as number;
    this.ents = this.ents.slice(upTo - this.base);
    this.base = upTo;
    this.baseTerm = t;
  }

  /**
   * Saves what a Ready asks, in its order: the snapshot (if any), the entries, the hard state (if any). The
   * persist step of a driver whose whole storage is this one.
   */
  persist(rd: { snapshot?: Snapshot; entries: readonly Entry[]; hardState?: HardState }): void {
    if (rd.snapshot) this.applySnapshot(rd.snapshot);
    this.append(rd.entries);
    if (rd.hardState) this.setHardState(rd.hardState);
  }

  /**
   * Appends entries (what `Ready.entries` asks), replacing any existing entries at the same or later indexes.
   * Entries at or below the compaction point are skipped. Throws `ContractViolation` on a gap.
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
}

/** The longest prefix of `ents` within `maxBytes` (always at least one entry). */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length === 0 || maxBytes === Infinity) return ents;
  let size = entrySize(ents[0]);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]);
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}
