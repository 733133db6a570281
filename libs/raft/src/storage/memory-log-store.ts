import { type Entry, entrySize } from '../core/types';
import {
  type LogStore,
  type LogStoreLimits,
  type LogStoreStats,
  type LogView,
  checkApplySnapshot,
  checkEntriesRange,
  planAppend,
  planCompact,
  resolveLimits,
} from './log-store';
import { closedError } from './storage-errors';

/**
 * The in-memory twin of {@link FileLogStore}, with the same {@link LogStore} contract (validation, errors,
 * byte bounds), for tests and the deterministic simulator. Writes take effect synchronously inside the call
 * (the promise only reports the outcome), so a simulated crash loses nothing that was called. Entry data is
 * copied in and out.
 */
export class MemoryLogStore implements LogStore, LogView {
  private ents: Entry[] = [];
  private baseIndex = 0;
  private baseTerm = 0;
  private closed = false;
  private readonly limits: LogStoreLimits;
  private readonly counters: LogStoreStats = {
    appendCalls: 0,
    entriesWritten: 0,
    batches: 0,
    fsyncs: 0,
    bytesWritten: 0,
    segments: 1,
    overloadRejections: 0,
  };

  constructor(limits?: Partial<LogStoreLimits>) {
    this.limits = resolveLimits(limits);
  }

  /** Compaction point (firstIndex - 1). */
  get base(): number {
    return this.baseIndex;
  }

  get last(): number {
    return this.baseIndex + this.ents.length;
  }

  firstIndex(): number {
    return this.baseIndex + 1;
  }

  lastIndex(): number {
    return this.last;
  }

  term(i: number): number | undefined {
    if (i === this.baseIndex) return this.baseTerm;
    if (i < this.baseIndex || i > this.last) return undefined;
    return this.ents[i - this.baseIndex - 1].term;
  }

  async entries(lo: number, hi: number, maxBytes = Infinity): Promise<Entry[]> {
    this.checkOpen();
    checkEntriesRange(this, lo, hi, maxBytes);
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - this.baseIndex - 1];
      size += entrySize(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push({ index: e.index, term: e.term, type: e.type, data: e.data.slice() });
    }
    return out;
  }

  async append(entries: readonly Entry[]): Promise<void> {
    this.checkOpen();
    const es = planAppend(this, entries, this.limits);
    this.counters.appendCalls++;
    if (es.length === 0) return;
    const keep = es[0].index - this.baseIndex - 1;
    this.ents.length = keep;
    for (const e of es) {
      this.ents.push({ index: e.index, term: e.term, type: e.type, data: e.data.slice() });
      this.counters.bytesWritten += entrySize(e);
    }
    this.counters.entriesWritten += es.length;
    this.counters.batches++;
  }

  async compact(upTo: number): Promise<void> {
    this.checkOpen();
    if (!planCompact(this, upTo)) return;
    const term = this.term(upTo) as number;
    this.ents = this.ents.slice(upTo - this.baseIndex);
    this.baseIndex = upTo;
    this.baseTerm = term;
  }

  async applySnapshot(index: number, term: number): Promise<void> {
    this.checkOpen();
    checkApplySnapshot(this, index, term);
    this.ents = [];
    this.baseIndex = index;
    this.baseTerm = term;
  }

  stats(): LogStoreStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw closedError('MemoryLogStore');
  }
}
