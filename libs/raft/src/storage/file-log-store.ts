import { type FileHandle, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Entry, entrySize } from '../core/types';
import { fsyncDir, mkdirDurable, unlinkIfExists } from './fs-util';
import { LogIndex } from './log-index';
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
import { RaftStorageError, closedError, corruptError, invalidArgument, ioError } from './storage-errors';
import {
  RECORD_OVERHEAD,
  RecordKind,
  SEGMENT_HEADER_BYTES,
  checkSegmentHeader,
  encodeSegmentHeader,
  parseSegmentName,
  readFrame,
  segmentName,
  writeFrame,
} from './wal-format';
import { LogReplay, findLaterBatch } from './wal-replay';

/** Options of {@link FileLogStore.open}. */
export interface FileLogStoreOptions extends Partial<LogStoreLimits> {
  /**
   * A new segment file is started before a write batch that would take the current one past this many
   * bytes (a single larger batch still goes whole into one segment). Default 64 MiB; 4 KiB to 1 GiB.
   */
  segmentBytes?: number;
  /** A write batch takes queued writes up to this many bytes (at least one write). Default 8 MiB. */
  maxBatchBytes?: number;
}

/** Defaults of {@link FileLogStoreOptions}. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** Largest span read from a segment in one read call. */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Segment offsets are stored as u32 in records: keep every segment below 4 GiB. */
const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;
const MAX_APPEND_BYTES = 1024 * 1024 * 1024;

/** What recovery found when the log was opened; the caller should log a torn tail. */
export interface LogRecoveryReport {
  /** Segment files found. */
  segments: number;
  /** Records replayed. */
  records: number;
  /** First and last index after recovery. */
  firstIndex: number;
  lastIndex: number;
  /**
   * A torn write at the end of the last segment (a crash before its fsync completed), which was cut off:
   * the file, the offset cut at, how many bytes were dropped, and why the bytes there were not a record.
   */
  tornTail?: { file: string; offset: number; droppedBytes: number; reason: string };
}

interface Segment {
  seq: number;
  file: string;
  /** Bytes of whole, fsynced records (the offset of the next write). */
  size: number;
  fh?: FileHandle;
  opening?: Promise<FileHandle>;
  readers: number;
  deleted: boolean;
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

type OpFields =
  | { kind: 'append'; entries: readonly Entry[]; bytes: number }
  | { kind: 'compact'; upTo: number; bytes: number }
  | { kind: 'reset'; index: number; term: number; bytes: number };

type Op = Waiter & OpFields;

type PlannedRecord =
  | { kind: RecordKind.Entry; entries: readonly Entry[] }
  | { kind: RecordKind.Compact | RecordKind.Reset; index: number; term: number };

type Mutation =
  | { kind: 'entries'; from: number; terms: number[]; offsets: number[]; lengths: number[] }
  | { kind: 'compact'; upTo: number; term: number }
  | { kind: 'reset'; index: number; term: number };

/**
 * A segmented write-ahead log on disk implementing {@link LogStore}: records framed with length and CRC-32,
 * segments of about `segmentBytes`, and an in-memory index (term and file position of every entry).
 *
 * Writes go through one queue: all writes queued while the previous batch was being fsynced are encoded
 * into one buffer, written with one call and made durable with one fdatasync (group commit), then their
 * promises resolve together. Files are only ever appended to: a conflicting suffix is overwritten logically
 * (a newer record for the same index wins on replay), and compaction deletes whole segments.
 *
 * Recovery ({@link FileLogStore.open}) replays every segment. A record damaged by a crash in the last,
 * unfinished write batch is cut off (see {@link LogRecoveryReport.tornTail}); damage anywhere else, a gap in
 * the indexes or a missing segment throws `RaftStorageCorrupt` naming the file and offset, and nothing is
 * dropped. One process at a time: {@link openRaftStorage} guards the directory with a lock file.
 */
export class FileLogStore implements LogStore, LogView {
  private index = new LogIndex();
  private segments: Segment[] = [];
  private queue: Op[] = [];
  private queuedBytes = 0;
  private draining: Promise<void> | undefined;
  private failure: RaftStorageError | undefined;
  private closing = false;
  private closePromise: Promise<void> | undefined;
  private readonly reads = new Set<Promise<unknown>>();
  private report: LogRecoveryReport | undefined;
  private readonly counters: LogStoreStats = {
    appendCalls: 0,
    entriesWritten: 0,
    batches: 0,
    fsyncs: 0,
    bytesWritten: 0,
    segments: 0,
    overloadRejections: 0,
  };

  private constructor(
    /** The directory holding the segment files. */
    readonly dir: string,
    private readonly limits: LogStoreLimits,
    private readonly segmentBytes: number,
    private readonly maxBatchBytes: number,
  ) {}

  /**
   * Opens (creating it if needed) the log in `dir`, which holds only this log's segment files, and recovers
   * it. Throws `RaftStorageCorrupt` for damage that a crash cannot explain, `RaftStorageIo` for I/O errors,
   * `RaftStorageInvalidArgument` for bad options. Does not lock `dir`: one opener at a time.
   */
  static async open(dir: string, options: FileLogStoreOptions = {}): Promise<FileLogStore> {
    const { segmentBytes = DEFAULT_SEGMENT_BYTES, maxBatchBytes = DEFAULT_MAX_BATCH_BYTES, ...limits } = options;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 4096 || segmentBytes > MAX_SEGMENT_BYTES) {
      throw invalidArgument(
        `log store option segmentBytes must be an integer from 4096 to ${MAX_SEGMENT_BYTES}, got ${segmentBytes}`,
      );
    }
    if (!Number.isSafeInteger(maxBatchBytes) || maxBatchBytes < 1) {
      throw invalidArgument(`log store option maxBatchBytes must be a positive integer, got ${maxBatchBytes}`);
    }
    const store = new FileLogStore(dir, resolveLimits(limits), segmentBytes, maxBatchBytes);
    try {
      await store.recover();
    } catch (e) {
      await store.closeHandles();
      throw e;
    }
    return store;
  }

  /** What recovery found at open. */
  recovery(): LogRecoveryReport {
    return { ...(this.report as LogRecoveryReport) };
  }

  /** Compaction point (firstIndex - 1), durable state. */
  get base(): number {
    return this.index.base;
  }

  /** Last index, durable state. */
  get last(): number {
    return this.index.last;
  }

  firstIndex(): number {
    return this.index.base + 1;
  }

  lastIndex(): number {
    return this.index.last;
  }

  term(i: number): number | undefined {
    return this.index.term(i);
  }

  stats(): LogStoreStats {
    return { ...this.counters, segments: this.segments.length };
  }

  append(entries: readonly Entry[]): Promise<void> {
    if (!Array.isArray(entries)) return Promise.reject(invalidArgument('append: entries must be an array'));
    if (entries.length === 0) return this.closing ? Promise.reject(closedError('FileLogStore')) : Promise.resolve();
    let bytes = 0;
    for (const e of entries) bytes += RECORD_OVERHEAD + (e?.data?.byteLength ?? 0);
    if (bytes > MAX_APPEND_BYTES)
      return Promise.reject(invalidArgument(`append: ${bytes} bytes in one call, over ${MAX_APPEND_BYTES}`));
    return this.enqueue({ kind: 'append', entries, bytes });
  }

  compact(upTo: number): Promise<void> {
    return this.enqueue({ kind: 'compact', upTo, bytes: RECORD_OVERHEAD });
  }

  applySnapshot(index: number, term: number): Promise<void> {
    return this.enqueue({ kind: 'reset', index, term, bytes: RECORD_OVERHEAD });
  }

  entries(lo: number, hi: number, maxBytes = Infinity): Promise<Entry[]> {
    if (this.closing) return Promise.reject(closedError('FileLogStore'));
    try {
      checkEntriesRange(this, lo, hi, maxBytes);
    } catch (e) {
      return Promise.reject(e);
    }
    if (lo === hi) return Promise.resolve([]);
    const p = this.read(lo, hi, maxBytes);
    this.reads.add(p);
    const done = () => this.reads.delete(p);
    p.then(done, done);
    return p;
  }

  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.closing = true;
      while (this.draining) await this.draining;
      await Promise.allSettled([...this.reads]);
      await this.closeHandles();
    })();
    return this.closePromise;
  }

  // ---- writes ----

  private enqueue(fields: OpFields): Promise<void> {
    if (this.closing) return Promise.reject(closedError('FileLogStore'));
    if (this.failure) return Promise.reject(this.failedError());
    if (this.queue.length > 0 && this.queuedBytes + fields.bytes > this.limits.maxPendingBytes) {
      this.counters.overloadRejections++;
      return Promise.reject(
        new RaftStorageError(
          'RaftStorageOverloaded',
          `log write refused: ${this.queuedBytes} bytes already wait to be written (maxPendingBytes ${this.limits.maxPendingBytes}); wait for earlier appends`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ...fields, resolve, reject } as Op);
      this.queuedBytes += fields.bytes;
      // Start on a microtask so that writes issued in the same tick share the first batch.
      this.draining ??= Promise.resolve().then(() => this.drain());
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        let n = 0;
        let bytes = 0;
        while (n < this.queue.length && (n === 0 || bytes + this.queue[n].bytes <= this.maxBatchBytes)) {
          bytes += this.queue[n].bytes;
          n++;
        }
        const batch = this.queue.splice(0, n);
        this.queuedBytes -= bytes;
        await this.writeBatch(batch).catch((e: unknown) => {
          // Not expected (writeBatch settles every op itself): fail safe rather than leave callers hanging.
          this.failure ??= e instanceof RaftStorageError ? e : ioError('append', this.activeFile(), e);
          for (const op of batch) op.reject(this.failure);
        });
      }
    } finally {
      this.draining = undefined;
    }
  }

  private failedError(): RaftStorageError {
    return new RaftStorageError(
      'RaftStorageFailed',
      `the log in ${this.dir} failed earlier and refuses writes: close and reopen it (recovery keeps what reached the disk)`,
      { cause: this.failure },
    );
  }

  private async writeBatch(ops: Op[]): Promise<void> {
    if (this.failure) {
      for (const op of ops) op.reject(this.failedError());
      return;
    }
    // Validate each write against the state the writes before it leave, and plan the records.
    const view = new BatchView(this.index);
    const accepted: Op[] = [];
    const records: PlannedRecord[] = [];
    let bytes = 0;
    for (const op of ops) {
      try {
        if (op.kind === 'append') {
          const es = planAppend(view, op.entries, this.limits);
          if (es.length > 0) {
            view.append(es);
            records.push({ kind: RecordKind.Entry, entries: es });
            for (const e of es) bytes += RECORD_OVERHEAD + e.data.byteLength;
          }
          this.counters.appendCalls++;
        } else if (op.kind === 'compact') {
          if (planCompact(view, op.upTo)) {
            const term = view.term(op.upTo) as number;
            // Compacting everything is a reset: replay then needs nothing older to know the log is empty.
            const kind = op.upTo === view.last ? RecordKind.Reset : RecordKind.Compact;
            view.compact(op.upTo, term);
            records.push({ kind, index: op.upTo, term });
            bytes += RECORD_OVERHEAD;
          }
        } else {
          checkApplySnapshot(view, op.index, op.term);
          view.reset(op.index, op.term);
          records.push({ kind: RecordKind.Reset, index: op.index, term: op.term });
          bytes += RECORD_OVERHEAD;
        }
        accepted.push(op);
      } catch (e) {
        op.reject(e);
      }
    }
    if (records.length === 0) {
      for (const op of accepted) op.resolve();
      return;
    }

    let mutations: Mutation[];
    try {
      let active = this.segments[this.segments.length - 1];
      if (active.size > SEGMENT_HEADER_BYTES && active.size + bytes > this.segmentBytes) {
        active = await this.createSegment(active.seq + 1);
        this.segments.push(active);
      }
      const start = active.size;
      const buf = Buffer.allocUnsafe(bytes);
      mutations = encodeBatch(buf, start, records);
      await writeFully(active.fh as FileHandle, buf, start);
      await (active.fh as FileHandle).datasync();
      this.counters.fsyncs++;
      this.counters.batches++;
      this.counters.bytesWritten += bytes;
      active.size += bytes;
    } catch (e) {
      this.failure = e instanceof RaftStorageError ? e : ioError('append', this.activeFile(), e);
      for (const op of accepted) op.reject(this.failure);
      return;
    }

    // Durable: publish to the in-memory index, then reclaim whole segments.
    const seq = this.segments[this.segments.length - 1].seq;
    let compacted = false;
    for (const m of mutations) {
      if (m.kind === 'entries') {
        this.index.truncateFrom(m.from);
        for (let k = 0; k < m.terms.length; k++) this.index.push(m.terms[k], seq, m.offsets[k], m.lengths[k]);
        this.counters.entriesWritten += m.terms.length;
      } else if (m.kind === 'compact') {
        this.index.compact(m.upTo, m.term);
        compacted = true;
      } else {
        this.index.reset(m.index, m.term);
        compacted = true;
      }
    }
    let deleteError: unknown;
    if (compacted) {
      try {
        await this.deleteObsoleteSegments();
      } catch (e) {
        deleteError = e;
      }
    }
    for (const op of accepted) {
      if (deleteError !== undefined && op.kind !== 'append') op.reject(deleteError);
      else op.resolve();
    }
  }

  private activeFile(): string {
    return this.segments[this.segments.length - 1]?.file ?? this.dir;
  }

  private async createSegment(seq: number): Promise<Segment> {
    const file = join(this.dir, segmentName(seq));
    let fh: FileHandle;
    try {
      fh = await open(file, 'wx+');
    } catch (e) {
      throw ioError('create segment', file, e);
    }
    try {
      await writeFully(fh, encodeSegmentHeader(seq), 0);
      await fh.datasync();
      this.counters.fsyncs++;
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw ioError('write segment header', file, e);
    }
    await fsyncDir(this.dir);
    this.counters.fsyncs++;
    return { seq, file, size: SEGMENT_HEADER_BYTES, fh, readers: 0, deleted: false };
  }

  /**
   * Deletes the segments before the one holding the first entry (or before the active one when the log is
   * empty), oldest first, fsyncing the directory after each so that what remains is always a contiguous
   * run of segments.
   */
  private async deleteObsoleteSegments(): Promise<void> {
    const active = this.segments[this.segments.length - 1];
    const keepFrom = this.index.count > 0 ? this.index.seg(this.index.base + 1) : active.seq;
    while (this.segments.length > 1 && this.segments[0].seq < keepFrom) {
      const seg = this.segments[0];
      // A reader may hold it without having opened it yet: open first, so the read outlives the unlink.
      if (seg.readers > 0) await this.handle(seg);
      await unlinkIfExists(seg.file);
      await fsyncDir(this.dir);
      this.counters.fsyncs++;
      this.segments.shift();
      seg.deleted = true;
      if (seg.readers === 0) await this.closeSegment(seg);
    }
  }

  // ---- reads ----

  private segment(seq: number): Segment {
    return this.segments[seq - this.segments[0].seq];
  }

  private async read(lo: number, hi: number, maxBytes: number): Promise<Entry[]> {
    // Plan from the index as it is now; files are append-only, so these positions stay valid.
    const idx = this.index;
    const runs: {
      seg: Segment;
      start: number;
      end: number;
      items: { index: number; term: number; off: number; len: number }[];
    }[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const len = idx.length(i);
      size += len - RECORD_OVERHEAD + ENTRY_SIZE_OVERHEAD;
      if (i > lo && size > maxBytes) break;
      const seg = this.segment(idx.seg(i));
      const off = idx.offset(i);
      const run = runs[runs.length - 1];
      if (run && run.seg === seg && off >= run.end && off + len - run.start <= READ_CHUNK_BYTES) {
        run.end = off + len;
        run.items.push({ index: i, term: idx.term(i) as number, off, len });
      } else {
        runs.push({ seg, start: off, end: off + len, items: [{ index: i, term: idx.term(i) as number, off, len }] });
      }
    }
    const held = [...new Set(runs.map((r) => r.seg))];
    for (const s of held) s.readers++;
    try {
      const out: Entry[] = [];
      for (const run of runs) {
        const fh = await this.handle(run.seg);
        const buf = Buffer.allocUnsafeSlow(run.end - run.start);
        try {
          await readFully(fh, buf, run.start);
        } catch (e) {
          throw ioError('read', run.seg.file, e);
        }
        for (const it of run.items) {
          const at = it.off - run.start;
          const f = readFrame(buf, at, at + it.len);
          if (typeof f === 'string') throw corruptError(run.seg.file, it.off, `${f} reading entry ${it.index}`);
          if (f.kind !== RecordKind.Entry || f.index !== it.index || f.term !== it.term || f.length !== it.len) {
            throw corruptError(run.seg.file, it.off, `the record there is not entry ${it.index} of term ${it.term}`);
          }
          out.push({
            index: f.index,
            term: f.term,
            type: f.entryType,
            data: new Uint8Array(buf.buffer, buf.byteOffset + f.dataStart, f.dataEnd - f.dataStart),
          });
        }
      }
      return out;
    } finally {
      for (const s of held) {
        s.readers--;
        if (s.readers === 0 && s.deleted) await this.closeSegment(s);
      }
    }
  }

  private async handle(seg: Segment): Promise<FileHandle> {
    if (seg.fh) return seg.fh;
    seg.opening ??= open(seg.file, 'r').catch((e) => {
      seg.opening = undefined;
      throw ioError('open', seg.file, e);
    });
    seg.fh = await seg.opening;
    return seg.fh;
  }

  private async closeSegment(seg: Segment): Promise<void> {
    const fh = seg.fh ?? (seg.opening ? await seg.opening.catch(() => undefined) : undefined);
    seg.fh = undefined;
    seg.opening = undefined;
    await fh?.close().catch(() => undefined);
  }

  private async closeHandles(): Promise<void> {
    for (const seg of this.segments) await this.closeSegment(seg);
  }

  // ---- recovery ----

  private async recover(): Promise<void> {
    await mkdirDurable(this.dir);
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      throw ioError('list directory', this.dir, e);
    }
    const seqs = names
      .map(parseSegmentName)
      .filter((s): s is number => s !== undefined)
      .sort((a, b) => a - b);
    for (let k = 1; k < seqs.length; k++) {
      if (seqs[k] !== seqs[k - 1] + 1) {
        throw corruptError(
          join(this.dir, segmentName(seqs[k - 1] + 1)),
          undefined,
          `segment file missing between ${segmentName(seqs[k - 1])} and ${segmentName(seqs[k])}`,
        );
      }
    }
    const report: LogRecoveryReport = { segments: seqs.length, records: 0, firstIndex: 1, lastIndex: 0 };
    if (seqs.length === 0) {
      this.segments.push(await this.createSegment(1));
      this.report = report;
      return;
    }
    const replay = new LogReplay(seqs[0] === 1);
    for (let k = 0; k < seqs.length; k++) {
      const seq = seqs[k];
      const file = join(this.dir, segmentName(seq));
      const isLast = k === seqs.length - 1;
      const seg: Segment = { seq, file, size: 0, readers: 0, deleted: false };
      this.segments.push(seg);
      let fh: FileHandle;
      try {
        fh = await open(file, isLast ? 'r+' : 'r');
      } catch (e) {
        throw ioError('open', file, e);
      }
      seg.fh = fh;
      let buf: Buffer;
      try {
        buf = await fh.readFile();
      } catch (e) {
        throw ioError('read', file, e);
      }
      const headerProblem = checkSegmentHeader(buf, seq);
      if (headerProblem !== undefined) {
        if (!isLast || buf.length > SEGMENT_HEADER_BYTES) throw corruptError(file, 0, headerProblem);
        // Crash while starting this segment: nothing was written to it yet.
        report.tornTail = { file, offset: 0, droppedBytes: buf.length, reason: headerProblem };
        try {
          await fh.truncate(0);
          await writeFully(fh, encodeSegmentHeader(seq), 0);
          await fh.datasync();
        } catch (e) {
          throw ioError('rewrite segment header', file, e);
        }
        this.counters.fsyncs++;
        seg.size = SEGMENT_HEADER_BYTES;
        continue;
      }
      let pos = SEGMENT_HEADER_BYTES;
      while (pos < buf.length) {
        const f = readFrame(buf, pos, buf.length);
        if (typeof f === 'string') {
          if (!isLast) throw corruptError(file, pos, `${f} in a sealed segment`);
          const later = findLaterBatch(buf, pos, buf.length);
          if (later !== undefined) {
            throw corruptError(file, pos, `${f}, yet a record written by a later batch follows at offset ${later}`);
          }
          report.tornTail = { file, offset: pos, droppedBytes: buf.length - pos, reason: f };
          break;
        }
        const problem = replay.apply(f, seq, pos);
        if (problem !== undefined) throw corruptError(file, pos, problem);
        report.records++;
        pos += f.length;
      }
      seg.size = pos;
      if (pos < buf.length) {
        try {
          await fh.truncate(pos);
          await fh.datasync();
        } catch (e) {
          throw ioError('truncate torn tail', file, e);
        }
        this.counters.fsyncs++;
      }
      if (!isLast) await this.closeSegment(seg); // reopened read-only on demand
    }
    const problem = replay.finish();
    if (problem !== undefined) throw corruptError(join(this.dir, segmentName(seqs[0])), undefined, problem);
    this.index = replay.index;
    report.firstIndex = this.index.base + 1;
    report.lastIndex = this.index.last;
    this.report = report;
  }
}

/** The log as a batch sees it while being planned: the durable index plus the writes planned before. */
class BatchView implements LogView {
  base: number;
  private baseTerm: number;
  /** Index entries ≥ cut come from `tail`, not from the durable index. */
  private cut: number;
  private tail: number[] = [];

  constructor(private readonly idx: LogIndex) {
    this.base = idx.base;
    this.baseTerm = idx.baseTerm;
    this.cut = idx.last + 1;
  }

  get last(): number {
    return this.cut - 1 + this.tail.length;
  }

  term(i: number): number | undefined {
    if (i === this.base) return this.baseTerm;
    if (i < this.base || i > this.last) return undefined;
    return i >= this.cut ? this.tail[i - this.cut] : this.idx.term(i);
  }

  append(es: readonly Entry[]): void {
    const from = es[0].index;
    if (from < this.cut) {
      this.cut = from;
      this.tail = [];
    } else {
      this.tail.length = from - this.cut;
    }
    for (const e of es) this.tail.push(e.term);
  }

  compact(upTo: number, term: number): void {
    this.base = upTo;
    this.baseTerm = term;
    if (upTo >= this.cut) {
      this.tail = this.tail.slice(upTo + 1 - this.cut);
      this.cut = upTo + 1;
    }
  }

  reset(index: number, term: number): void {
    this.base = index;
    this.baseTerm = term;
    this.cut = index + 1;
    this.tail = [];
  }
}

/** Encodes `records` into `buf` (a batch starting at segment offset `start`); returns the index changes. */
function encodeBatch(buf: Buffer, start: number, records: readonly PlannedRecord[]): Mutation[] {
  const out: Mutation[] = [];
  let pos = 0;
  for (const r of records) {
    if (r.kind === RecordKind.Entry) {
      const m: Mutation = { kind: 'entries', from: r.entries[0].index, terms: [], offsets: [], lengths: [] };
      for (const e of r.entries) {
        const len = writeFrame(buf, pos, start, RecordKind.Entry, e.type, e.index, e.term, e.data);
        m.terms.push(e.term);
        m.offsets.push(start + pos);
        m.lengths.push(len);
        pos += len;
      }
      out.push(m);
    } else {
      pos += writeFrame(buf, pos, start, r.kind, 0, r.index, r.term, EMPTY);
      out.push(
        r.kind === RecordKind.Compact
          ? { kind: 'compact', upTo: r.index, term: r.term }
          : { kind: 'reset', index: r.index, term: r.term },
      );
    }
  }
  return out;
}

const EMPTY = new Uint8Array(0);
/** What {@link entrySize} adds to an entry's data length (it is linear in it). */
const ENTRY_SIZE_OVERHEAD = entrySize({ index: 0, term: 0, type: 0, data: EMPTY });

async function writeFully(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const { bytesWritten } = await fh.write(buf, done, buf.byteLength - done, position + done);
    done += bytesWritten;
  }
}

async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0)
      throw Object.assign(new Error(`unexpected end of file at ${position + done}`), { code: 'EOF' });
    done += bytesRead;
  }
}
