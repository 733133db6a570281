import { RaftError } from './errors';
import { Storage, limitSize } from './storage';
import { Entry, Snapshot } from './types';

/**
 * Entries (and possibly a snapshot) that the core has accepted but the application has not yet persisted.
 * `offset` is the index of `entries[0]`.
 */
export class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];

  constructor(public offset: number) {}

  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.meta.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot ? this.snapshot.meta.index : undefined;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      return this.snapshot && this.snapshot.meta.index === i ? this.snapshot.meta.term : undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset].term;
  }

  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined || gt !== t || i < this.offset) return;
    this.entries = this.entries.slice(i + 1 - this.offset);
    this.offset = i + 1;
  }

  stableSnapTo(i: number): void {
    if (this.snapshot && this.snapshot.meta.index === i) this.snapshot = undefined;
  }

  restore(s: Snapshot): void {
    this.offset = s.meta.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const after = ents[0].index;
    if (after === this.offset + this.entries.length) {
      this.entries = this.entries.concat(ents);
    } else if (after <= this.offset) {
      this.offset = after;
      this.entries = ents.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
  }

  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

/**
 * The log as the core sees it: the persisted part (read from {@link Storage}) followed by the unstable part.
 * Tracks the commit index and how far the application has applied.
 */
export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  applied: number;

  constructor(
    readonly storage: Storage,
    readonly maxApplyBytes: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of entry i, or undefined when compacted or beyond the end. */
  term(i: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    return this.storage.term(i);
  }

  /** Term of entry i, or 0 when unavailable (for messages, where 0 never matches a real entry but index 0). */
  termOrZero(i: number): number {
    return this.term(i) ?? 0;
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    if (t === undefined) throw new RaftError('Invariant', 'term of last index unavailable');
    return t;
  }

  matchTerm(i: number, t: number): boolean {
    const x = this.term(i);
    return x !== undefined && x === t;
  }

  /** Raft §5.4.1: is a log ending at (lasti, term) at least as up to date as ours? */
  isUpToDate(lasti: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lasti >= this.lastIndex());
  }

  /**
   * Follower side of AppendEntries: if our entry at prevIndex has prevTerm, append `ents` (truncating a
   * conflicting suffix) and advance the commit to min(committed, last new index). Returns the last new index
   * and the entries actually written, or undefined when the prev entry does not match.
   */
  maybeAppend(
    prevIndex: number,
    prevTerm: number,
    committed: number,
    ents: readonly Entry[],
  ): { lastNew: number; appended: readonly Entry[] } | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + ents.length;
    const ci = this.findConflict(ents);
    let appended: readonly Entry[] = [];
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new RaftError('Invariant', `entry ${ci} conflicts with committed entry (committed ${this.committed})`);
      }
      appended = ents.slice(ci - (prevIndex + 1));
      this.append(appended);
    }
    this.commitTo(Math.min(committed, lastNew));
    return { lastNew, appended };
  }

  /** Appends entries (truncating any later ones); returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0].index - 1;
    if (after < this.committed) {
      throw new RaftError('Invariant', `append after ${after} is below committed ${this.committed}`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** The index of the first entry of `ents` that is missing or has another term in our log; 0 if none. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term`, and that term (the fast backtracking step: it skips
   * every entry that cannot match a log whose entry at `index` has `term`).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; ; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
  }

  /** Entries in [lo, hi) within maxBytes (at least one). Throws `Compacted` if lo < firstIndex. */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo >= hi) return [];
    const first = this.firstIndex();
    if (lo < first) throw new RaftError('Compacted', `slice(${lo}): first index is ${first}`);
    if (hi > this.lastIndex() + 1) throw new RaftError('Unavailable', `slice(..${hi}) beyond last ${this.lastIndex()}`);
    let out: Entry[] = [];
    const uo = this.unstable.offset;
    if (lo < uo) {
      out = this.storage.entries(lo, Math.min(hi, uo), maxBytes);
      if (out.length < Math.min(hi, uo) - lo) return out;
    }
    if (hi > uo) {
      const u = this.unstable.slice(Math.max(lo, uo), hi);
      out = out.length > 0 ? out.concat(u) : u;
    }
    return limitSize(out, maxBytes);
  }

  /** Entries from i to the end, within maxBytes. */
  entriesFrom(i: number, maxBytes = Infinity): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries;
  }

  hasNextCommittedEntries(): boolean {
    return this.committed > this.applied && this.applied + 1 >= this.firstIndex() && !this.unstable.snapshot;
  }

  /** Committed entries not yet handed out for applying, within the byte bound. */
  nextCommittedEntries(): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    return this.slice(this.applied + 1, this.committed + 1, this.maxApplyBytes);
  }

  /** The snapshot to send to a follower: the unstable one if any, else the storage's. */
  snapshot(): Snapshot | undefined {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  commitTo(n: number): void {
    if (n <= this.committed) return;
    if (n > this.lastIndex()) {
      throw new RaftError('Invariant', `commit ${n} is beyond last index ${this.lastIndex()} (log lost or corrupt?)`);
    }
    this.committed = n;
  }

  appliedTo(n: number): void {
    if (n === 0) return;
    if (n > this.committed || n < this.applied) {
      throw new RaftError('ContractViolation', `applied ${n} outside [${this.applied}, ${this.committed}]`);
    }
    this.applied = n;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  /** Replaces the log with a snapshot (follower catching up). */
  restore(s: Snapshot): void {
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }
}
