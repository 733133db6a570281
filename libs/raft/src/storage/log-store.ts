import type { Entry } from '../core/types';
import { RaftStorageError, invalidArgument } from './storage-errors';

/**
 * The Raft log, durable (FileLogStore) or in memory (MemoryLogStore); both keep exactly this contract.
 *
 * Indexes: the log holds entries `firstIndex()..lastIndex()`; `firstIndex() - 1` is the compaction point
 * (the index of the latest snapshot, 0 for a new log), whose term {@link LogStore.term} still answers. An
 * empty log has `lastIndex() === firstIndex() - 1`.
 *
 * Visibility: a write (append, compact, applySnapshot) is durable, and visible to the synchronous getters
 * and to `entries`, no later than when its promise resolves; the file store makes it visible exactly then.
 * Writes take effect in call order, each validated against the state left by the writes called before it.
 *
 * Errors are {@link RaftStorageError}s. After an I/O failure of a write the store refuses further writes
 * (`RaftStorageFailed`): close it and reopen, which recovers what reached the disk.
 */
export interface LogStore {
  /** Index of the first entry kept (compaction point + 1). Synchronous, from memory. */
  firstIndex(): number;
  /** Index of the last entry (the compaction point when the log is empty). Synchronous, from memory. */
  lastIndex(): number;
  /** Term of entry `i` for firstIndex-1 ≤ i ≤ lastIndex, else undefined. Synchronous, from memory. */
  term(i: number): number | undefined;
  /**
   * Entries in [lo, hi): at least one when lo < hi, then as many as fit in `maxBytes` (sum of
   * {@link entrySize}; default unbounded). Rejects with `RaftStorageCompacted` when lo < firstIndex,
   * `RaftStorageUnavailable` when hi > lastIndex+1, `RaftStorageInvalidArgument` when lo > hi, and
   * `RaftStorageCorrupt` when a record read back fails its checksum. The returned entries are the caller's.
   */
  entries(lo: number, hi: number, maxBytes?: number): Promise<Entry[]>;
  /**
   * Appends consecutive entries. `entries[0].index` must be ≤ lastIndex+1; every existing entry at or after
   * `entries[0].index` is discarded first (a conflicting suffix from an old leader). Entries at or below the
   * compaction point are skipped (a snapshot covers them). Terms must not decrease along the log. Resolves
   * once the entries are on disk (fsynced); concurrent appends are batched into one write and one fsync.
   * Rejects with `RaftStorageInvalidArgument` (gap, decreasing term, bad field, entry over `maxEntryBytes`)
   * or `RaftStorageOverloaded` (more than `maxPendingBytes` waiting to be written). An empty array resolves
   * at once.
   */
  append(entries: readonly Entry[]): Promise<void>;
  /**
   * Drops entries ≤ upTo (after a snapshot at `upTo` was saved); afterwards firstIndex = upTo+1 and
   * term(upTo) still answers. A no-op when upTo < firstIndex; rejects with `RaftStorageUnavailable` when
   * upTo > lastIndex. Durable when it resolves; the file store then deletes whole segments no longer needed.
   */
  compact(upTo: number): Promise<void>;
  /**
   * Discards the whole log to restart after a snapshot received from the leader: afterwards
   * firstIndex = index+1, lastIndex = index, term(index) = term. Rejects with `RaftStorageInvalidArgument`
   * when index < firstIndex-1 (older than the log's own compaction point). When the log already holds
   * (index, term), the caller may prefer {@link LogStore.compact}, which keeps the entries after it.
   */
  applySnapshot(index: number, term: number): Promise<void>;
  /** Counters for metrics and benchmarks. */
  stats(): LogStoreStats;
  /** Waits for queued writes, then releases files. Later calls reject with `RaftStorageClosed`. Idempotent. */
  close(): Promise<void>;
}

/** Counters of a {@link LogStore}, monotonic since open. */
export interface LogStoreStats {
  /** append() calls accepted. */
  appendCalls: number;
  /** Entries written. */
  entriesWritten: number;
  /** Write batches (one write each); several concurrent appends share one. */
  batches: number;
  /** fsync/fdatasync calls on log files and the log directory. */
  fsyncs: number;
  /** Bytes written to log files. */
  bytesWritten: number;
  /** Segment files currently on disk (1 for the memory twin). */
  segments: number;
  /** Appends refused with `RaftStorageOverloaded` (the bound `maxPendingBytes` was hit). */
  overloadRejections: number;
}

/** Bounds shared by both log stores. */
export interface LogStoreLimits {
  /** Largest `data` of one entry, in bytes. Default 16 MiB. */
  maxEntryBytes: number;
  /** Most bytes of appends waiting to be written; more is refused with `RaftStorageOverloaded`. Default 256 MiB. */
  maxPendingBytes: number;
}

/** Defaults of {@link LogStoreLimits}. */
export const DEFAULT_LOG_LIMITS: Readonly<LogStoreLimits> = Object.freeze({
  maxEntryBytes: 16 * 1024 * 1024,
  maxPendingBytes: 256 * 1024 * 1024,
});

/** Read side of a log, as the shared validation needs it. */
export interface LogView {
  /** Compaction point: the first entry kept is `base + 1`. */
  readonly base: number;
  readonly last: number;
  term(i: number): number | undefined;
}

/**
 * Validates an append against `view` and returns the entries to write: `entries` without those at or below
 * the compaction point. Throws `RaftStorageInvalidArgument` naming the offending entry.
 */
export function planAppend(view: LogView, entries: readonly Entry[], limits: LogStoreLimits): readonly Entry[] {
  if (!Array.isArray(entries)) throw invalidArgument('append: entries must be an array');
  if (entries.length === 0) return entries;
  const first = entries[0]?.index;
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k];
    const at = `append: entries[${k}]`;
    if (e === null || typeof e !== 'object') throw invalidArgument(`${at} is not an entry`);
    if (!Number.isSafeInteger(e.index) || e.index < 1)
      throw invalidArgument(`${at}.index ${e.index} is not an integer ≥ 1`);
    if (e.index !== first + k)
      throw invalidArgument(`${at}.index ${e.index} does not follow ${first + k - 1}: indexes must be consecutive`);
    if (!Number.isSafeInteger(e.term) || e.term < 0)
      throw invalidArgument(`${at}.term ${e.term} is not an integer ≥ 0`);
    if (k > 0 && e.term < entries[k - 1].term)
      throw invalidArgument(`${at}.term ${e.term} is below the previous entry's term ${entries[k - 1].term}`);
    if (!Number.isInteger(e.type) || e.type < 0 || e.type > 255)
      throw invalidArgument(`${at}.type ${e.type} is not an integer 0..255`);
    if (!(e.data instanceof Uint8Array)) throw invalidArgument(`${at}.data is not a Uint8Array`);
    if (e.data.byteLength > limits.maxEntryBytes) {
      throw invalidArgument(`${at}.data has ${e.data.byteLength} bytes, over maxEntryBytes ${limits.maxEntryBytes}`);
    }
  }
  let es = entries;
  if (first <= view.base) {
    const atBase = entries[view.base - first];
    if (atBase !== undefined && atBase.term !== view.term(view.base)) {
      throw invalidArgument(
        `append: entry ${view.base} has term ${atBase.term} but the compaction point (snapshot) has term ${view.term(view.base)}`,
      );
    }
    es = entries.slice(view.base + 1 - first);
    if (es.length === 0) return es;
  }
  const from = es[0].index;
  if (from > view.last + 1)
    throw invalidArgument(`append: entry ${from} leaves a gap after the last index ${view.last}`);
  const prevTerm = view.term(from - 1);
  if (prevTerm !== undefined && es[0].term < prevTerm) {
    throw invalidArgument(
      `append: entry ${from} has term ${es[0].term}, below the term ${prevTerm} of entry ${from - 1}`,
    );
  }
  return es;
}

/** Validates `compact(upTo)`: returns false for a no-op, true to compact; throws otherwise. */
export function planCompact(view: LogView, upTo: number): boolean {
  if (!Number.isSafeInteger(upTo) || upTo < 0) throw invalidArgument(`compact: ${upTo} is not an integer ≥ 0`);
  if (upTo <= view.base) return false;
  if (upTo > view.last) {
    throw new RaftStorageError('RaftStorageUnavailable', `compact(${upTo}) is beyond the last index ${view.last}`);
  }
  return true;
}

/** Validates `applySnapshot(index, term)`; throws `RaftStorageInvalidArgument`. */
export function checkApplySnapshot(view: LogView, index: number, term: number): void {
  if (!Number.isSafeInteger(index) || index < 0)
    throw invalidArgument(`applySnapshot: index ${index} is not an integer ≥ 0`);
  if (!Number.isSafeInteger(term) || term < 0)
    throw invalidArgument(`applySnapshot: term ${term} is not an integer ≥ 0`);
  if (index < view.base) {
    throw invalidArgument(`applySnapshot: index ${index} is older than the log's compaction point ${view.base}`);
  }
}

/** Validates the range of `entries(lo, hi)` against the log (firstIndex = base + 1). */
export function checkEntriesRange(view: LogView, lo: number, hi: number, maxBytes: number): void {
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo > hi) {
    throw invalidArgument(`entries(${lo}, ${hi}): bounds must be integers with lo ≤ hi`);
  }
  if (!(maxBytes >= 0)) throw invalidArgument(`entries: maxBytes ${maxBytes} must be ≥ 0`);
  if (lo <= view.base) {
    throw new RaftStorageError('RaftStorageCompacted', `entries(${lo}, ${hi}): compacted up to ${view.base}`);
  }
  if (hi > view.last + 1) {
    throw new RaftStorageError('RaftStorageUnavailable', `entries(${lo}, ${hi}): the last index is ${view.last}`);
  }
}

/** Checks the limits given to a log store; throws `RaftStorageInvalidArgument`. */
export function resolveLimits(given: Partial<LogStoreLimits> | undefined): LogStoreLimits {
  const limits = { ...DEFAULT_LOG_LIMITS, ...given };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v < 1)
      throw invalidArgument(`log store option ${k} must be a positive integer, got ${v}`);
  }
  if (limits.maxEntryBytes > MAX_ENTRY_BYTES_LIMIT) {
    throw invalidArgument(`log store option maxEntryBytes must be ≤ ${MAX_ENTRY_BYTES_LIMIT}`);
  }
  return limits;
}

/** Hard ceiling of `maxEntryBytes` (256 MiB), also the largest record recovery accepts. */
export const MAX_ENTRY_BYTES_LIMIT = 256 * 1024 * 1024;
