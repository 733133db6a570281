import { cloneConfState } from './conf-change';
import { RaftError } from './errors';
import { ConfState, EMPTY_HARD_STATE, Entry, EntryType, HardState, Snapshot, entrySize } from './types';

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

/**
 * An in-memory {@link Storage} with the write operations an application performs. Used by tests, the
 * simulator, and as a cache in front of a durable store. Entry arrays are kept as given (not copied).
 */
export class MemoryStorage implements Storage {
  private hard: HardState = { ...EMPTY_HARD_STATE };
  private snap: Snapshot = { meta: { index: 0, term: 0, conf: { voters: [], learners: [] } }, data: new Uint8Array(0) };
  /** ents[0] is a dummy entry standing for the snapshot (its index and term). */
  private ents: Entry[] = [{ index: 0, term: 0, type: EntryType.Normal, data: new Uint8Array(0) }];

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

  private offset(): number {
    return this.ents[0].index;
  }

  entries(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    const off = this.offset();
    if (lo <= off) throw new RaftError('Compacted', `entries(${lo}): compacted up to ${off}`);
    if (hi > this.lastIndex() + 1) throw new RaftError('Unavailable', `entries(..${hi}): last index is ${this.lastIndex()}`);
    return limitSize(this.ents.slice(lo - off, hi - off), maxBytes);
  }

  term(i: number): number | undefined {
    const off = this.offset();
    if (i < off || i - off >= this.ents.length) return undefined;
    return this.ents[i - off].term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): Snapshot | undefined {
    return this.snap;
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
    this.ents = [{ index: snap.meta.index, term: snap.meta.term, type: EntryType.Normal, data: new Uint8Array(0) }];
  }

  /**
   * Records a snapshot of the state machine at applied index `i` with membership `conf` (from
   * `RawNode.confStateAt(i)`); the log is not compacted (see {@link compact}). Returns the snapshot.
   */
  createSnapshot(i: number, conf: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.snap.meta.index) throw new RaftError('SnapshotOutOfDate', `snapshot ${i} not newer than ${this.snap.meta.index}`);
    const t = this.term(i);
    if (t === undefined) throw new RaftError('Unavailable', `createSnapshot(${i}): index not in log`);
    this.snap = { meta: { index: i, term: t, conf: cloneConfState(conf) }, data };
    return this.snap;
  }

  /** Discards entries before `compactIndex` (which must be ≤ the applied index and ≤ lastIndex). */
  compact(compactIndex: number): void {
    const off = this.offset();
    if (compactIndex <= off) return;
    if (compactIndex > this.lastIndex()) throw new RaftError('Unavailable', `compact(${compactIndex}) beyond last index`);
    const i = compactIndex - off;
    const head = this.ents[i];
    this.ents = [{ index: head.index, term: head.term, type: EntryType.Normal, data: new Uint8Array(0) }, ...this.ents.slice(i + 1)];
  }

  /**
   * Appends entries (what `Ready.entries` asks), replacing any existing entries at the same or later indexes.
   * Entries already compacted are skipped.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return;
    let es = entries;
    if (first > es[0].index) es = es.slice(first - es[0].index);
    const off = es[0].index - this.offset();
    if (off > this.ents.length) {
      throw new RaftError('ContractViolation', `append: gap between last index ${this.lastIndex()} and ${es[0].index}`);
    }
    this.ents = this.ents.slice(0, off).concat(es);
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
