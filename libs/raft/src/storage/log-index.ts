/**
 * The in-memory index of the write-ahead log: for every entry from `base + 1` to `last`, its term and where
 * its record sits on disk (segment sequence number, byte offset, record length). About 28 bytes per entry.
 * `base` is the compaction point (the index of the latest snapshot, 0 for a new log) and `baseTerm` its term
 * (NaN while recovery has not learnt it yet).
 */
export class LogIndex {
  private terms = new Float64Array(1024);
  private segs = new Uint32Array(1024);
  private offs = new Float64Array(1024);
  private lens = new Uint32Array(1024);
  /** Array slot of the entry `base + 1`. */
  private head = 0;
  private n = 0;

  constructor(
    private baseIndex = 0,
    private baseTermValue = 0,
  ) {}

  /** Index of the compaction point: the first entry kept is `base + 1`. */
  get base(): number {
    return this.baseIndex;
  }

  /** Term of the entry at `base` (NaN when unknown during recovery). */
  get baseTerm(): number {
    return this.baseTermValue;
  }

  /** Number of entries held. */
  get count(): number {
    return this.n;
  }

  /** Index of the last entry, or `base` when empty. */
  get last(): number {
    return this.baseIndex + this.n;
  }

  /** Term of entry `i` for base ≤ i ≤ last, else undefined. */
  term(i: number): number | undefined {
    if (i === this.baseIndex) return this.baseTermValue;
    if (i < this.baseIndex || i > this.last) return undefined;
    return this.terms[this.head + i - this.baseIndex - 1];
  }

  /** Segment sequence number holding entry `i` (base < i ≤ last). */
  seg(i: number): number {
    return this.segs[this.slot(i)];
  }

  /** Byte offset of entry `i`'s record in its segment. */
  offset(i: number): number {
    return this.offs[this.slot(i)];
  }

  /** Total byte length of entry `i`'s record (frame header included). */
  length(i: number): number {
    return this.lens[this.slot(i)];
  }

  /** Drops entries ≥ i (base < i ≤ last + 1). */
  truncateFrom(i: number): void {
    if (i <= this.baseIndex || i > this.last + 1)
      throw new RangeError(`truncateFrom(${i}) outside (${this.baseIndex}, ${this.last + 1}]`);
    this.n = i - this.baseIndex - 1;
  }

  /** Appends the entry `last + 1`. */
  push(term: number, seg: number, offset: number, length: number): void {
    if (this.head + this.n === this.terms.length) this.makeRoom();
    const s = this.head + this.n;
    this.terms[s] = term;
    this.segs[s] = seg;
    this.offs[s] = offset;
    this.lens[s] = length;
    this.n++;
  }

  /** Drops entries ≤ upTo (base ≤ upTo ≤ last); `upTo` becomes the base with term `term`. */
  compact(upTo: number, term: number): void {
    if (upTo < this.baseIndex || upTo > this.last)
      throw new RangeError(`compact(${upTo}) outside [${this.baseIndex}, ${this.last}]`);
    const drop = upTo - this.baseIndex;
    this.head += drop;
    this.n -= drop;
    this.baseIndex = upTo;
    this.baseTermValue = term;
    if (this.n === 0) this.head = 0;
  }

  /** Drops every entry; the log restarts after (`index`, `term`). */
  reset(index: number, term: number): void {
    this.head = 0;
    this.n = 0;
    this.baseIndex = index;
    this.baseTermValue = term;
  }

  private slot(i: number): number {
    if (i <= this.baseIndex || i > this.last)
      throw new RangeError(`index ${i} outside (${this.baseIndex}, ${this.last}]`);
    return this.head + i - this.baseIndex - 1;
  }

  private makeRoom(): void {
    const cap = this.terms.length;
    if (this.head >= cap / 2) {
      // Mostly compacted away: slide the live part to the front instead of growing.
      this.terms.copyWithin(0, this.head, this.head + this.n);
      this.segs.copyWithin(0, this.head, this.head + this.n);
      this.offs.copyWithin(0, this.head, this.head + this.n);
      this.lens.copyWithin(0, this.head, this.head + this.n);
      this.head = 0;
      return;
    }
    const grow = <T extends Float64Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap * 2);
      b.set(a.subarray(this.head, this.head + this.n));
      return b;
    };
    this.terms = grow(this.terms, (k) => new Float64Array(k));
    this.segs = grow(this.segs, (k) => new Uint32Array(k));
    this.offs = grow(this.offs, (k) => new Float64Array(k));
    this.lens = grow(this.lens, (k) => new Uint32Array(k));
    this.head = 0;
  }
}
