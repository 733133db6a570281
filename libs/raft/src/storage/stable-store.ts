import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { EMPTY_HARD_STATE, type HardState } from '../core/types';
import { TEMP_SUFFIX, hasErrno, unlinkIfExists, writeFileAtomic } from './fs-util';
import { RaftStorageError, closedError, corruptError, invalidArgument, ioError } from './storage-errors';

/**
 * Durable {@link HardState} (current term, vote, commit index), on disk (FileStableStore) or in memory
 * (MemoryStableStore) with the same contract.
 *
 * `save` validates against the last state saved or being saved: the term never decreases, a vote cast in a
 * term is never changed within it (so a node cannot vote twice), and the commit index never decreases;
 * otherwise it rejects with `RaftStorageInvalidArgument`. It resolves once the state is durable;
 * `hardState()` returns it no later than then (the file store exactly then). Saves issued while one is being
 * written coalesce: the newest is written once and every waiting promise resolves with it. After a failed
 * write the store refuses saves (`RaftStorageFailed`) until reopened.
 *
 * Cost: each file save is two fsyncs (file and directory). The commit index need not be durable for
 * safety, so a caller may save only when term or vote change and let commit ride along.
 */
export interface StableStore {
  /** The last durable hard state; `{term: 0, vote: '', commit: 0}` for a new node. Synchronous. */
  hardState(): HardState;
  /** Makes `hs` durable (see the interface for the rules). */
  save(hs: HardState): Promise<void>;
  /** Waits for a save in progress, then releases the store. Later saves reject with `RaftStorageClosed`. */
  close(): Promise<void>;
}

/** Longest vote (node id) accepted, in UTF-8 bytes. */
export const MAX_NODE_ID_BYTES = 1024;

/** Validates `next` as the successor of `prev`; throws `RaftStorageInvalidArgument`. */
export function checkHardState(prev: HardState, next: HardState): void {
  if (next === null || typeof next !== 'object') throw invalidArgument('hard state must be an object');
  if (!Number.isSafeInteger(next.term) || next.term < 0)
    throw invalidArgument(`hard state term ${next.term} is not an integer ≥ 0`);
  if (!Number.isSafeInteger(next.commit) || next.commit < 0) {
    throw invalidArgument(`hard state commit ${next.commit} is not an integer ≥ 0`);
  }
  if (typeof next.vote !== 'string') throw invalidArgument('hard state vote must be a string (empty for none)');
  if (Buffer.byteLength(next.vote) > MAX_NODE_ID_BYTES)
    throw invalidArgument(`hard state vote is over ${MAX_NODE_ID_BYTES} bytes`);
  if (next.term < prev.term) throw invalidArgument(`hard state term would go back from ${prev.term} to ${next.term}`);
  if (next.term === prev.term && prev.vote !== '' && next.vote !== prev.vote) {
    throw invalidArgument(`hard state vote in term ${next.term} would change from '${prev.vote}' to '${next.vote}'`);
  }
  if (next.commit < prev.commit)
    throw invalidArgument(`hard state commit would go back from ${prev.commit} to ${next.commit}`);
}

/*
 * File format (little-endian): magic "SRGRAFTH" | u32 crc | u32 version (1) | u32 payload length | payload
 * payload: u64 term | u64 commit | vote (UTF-8, the rest). crc covers everything after itself.
 */
const MAGIC = Buffer.from('SRGRAFTH', 'latin1');
const VERSION = 1;
const HEADER_BYTES = 20;

/** Encodes a hard state file. */
export function encodeHardState(hs: HardState): Buffer {
  const vote = Buffer.from(hs.vote, 'utf8');
  const b = Buffer.alloc(HEADER_BYTES + 16 + vote.length);
  MAGIC.copy(b, 0);
  b.writeUInt32LE(VERSION, 12);
  b.writeUInt32LE(16 + vote.length, 16);
  b.writeUInt32LE(hs.term >>> 0, 20);
  b.writeUInt32LE(Math.floor(hs.term / 0x1_0000_0000), 24);
  b.writeUInt32LE(hs.commit >>> 0, 28);
  b.writeUInt32LE(Math.floor(hs.commit / 0x1_0000_0000), 32);
  vote.copy(b, 36);
  b.writeUInt32LE(crc32(b.subarray(12)), 8);
  return b;
}

/** Decodes a hard state file; throws `RaftStorageCorrupt` naming `file`. */
export function decodeHardState(b: Buffer, file: string): HardState {
  if (b.length < HEADER_BYTES + 16)
    throw corruptError(file, undefined, `hard state file is truncated (${b.length} bytes)`);
  if (!b.subarray(0, 8).equals(MAGIC)) throw corruptError(file, 0, 'not a hard state file (wrong magic number)');
  if (b.readUInt32LE(8) !== crc32(b.subarray(12))) throw corruptError(file, 8, 'hard state checksum mismatch');
  const version = b.readUInt32LE(12);
  if (version !== VERSION) throw corruptError(file, 12, `hard state format version ${version} is not supported`);
  if (b.readUInt32LE(16) !== b.length - HEADER_BYTES)
    throw corruptError(file, 16, 'hard state length does not match the file size');
  return {
    term: b.readUInt32LE(24) * 0x1_0000_0000 + b.readUInt32LE(20),
    commit: b.readUInt32LE(32) * 0x1_0000_0000 + b.readUInt32LE(28),
    vote: b.toString('utf8', 36),
  };
}

/** Name of the hard state file in the storage directory. */
export const HARD_STATE_FILE = 'hardstate';

/**
 * {@link StableStore} in one small file, replaced atomically on every save (write `hardstate.tmp`, fsync,
 * rename over `hardstate`, fsync the directory) and checksummed.
 */
export class FileStableStore implements StableStore {
  private durable: HardState;
  private latest: HardState;
  private waiters: { resolve(): void; reject(e: unknown): void }[] = [];
  private writing: Promise<void> | undefined;
  private failure: RaftStorageError | undefined;
  private closePromise: Promise<void> | undefined;
  private fsyncCount = 0;

  private constructor(
    /** The directory holding the file. */
    readonly dir: string,
    /** The hard state file. */
    readonly file: string,
    initial: HardState,
  ) {
    this.durable = initial;
    this.latest = initial;
  }

  /**
   * Opens the store in `dir` (which must exist), reading `dir/hardstate`; a missing file means a new node.
   * A leftover `hardstate.tmp` (a crash mid-save) is deleted. Throws `RaftStorageCorrupt` naming the file
   * when it fails verification, `RaftStorageIo` on I/O errors.
   */
  static async open(dir: string): Promise<FileStableStore> {
    const file = join(dir, HARD_STATE_FILE);
    await unlinkIfExists(file + TEMP_SUFFIX);
    let hs: HardState = { ...EMPTY_HARD_STATE };
    try {
      hs = decodeHardState(await readFile(file), file);
    } catch (e) {
      if (!hasErrno(e, 'ENOENT')) throw e instanceof RaftStorageError ? e : ioError('read', file, e);
    }
    return new FileStableStore(dir, file, hs);
  }

  hardState(): HardState {
    return { ...this.durable };
  }

  /** fsync calls made by saves (two per write: the file and the directory). */
  fsyncs(): number {
    return this.fsyncCount;
  }

  save(hs: HardState): Promise<void> {
    if (this.closePromise) return Promise.reject(closedError('FileStableStore'));
    if (this.failure) return Promise.reject(this.failedError());
    try {
      checkHardState(this.latest, hs);
    } catch (e) {
      return Promise.reject(e);
    }
    this.latest = { term: hs.term, vote: hs.vote, commit: hs.commit };
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.writing ??= Promise.resolve().then(() => this.flush());
    });
  }

  close(): Promise<void> {
    this.closePromise ??= (async () => {
      while (this.writing) await this.writing;
    })();
    return this.closePromise;
  }

  private failedError(): RaftStorageError {
    return new RaftStorageError(
      'RaftStorageFailed',
      `saving the hard state to ${this.file} failed earlier: reopen the storage`,
      {
        cause: this.failure,
      },
    );
  }

  private async flush(): Promise<void> {
    try {
      while (this.waiters.length > 0) {
        const waiting = this.waiters.splice(0);
        const target = this.latest;
        if (this.failure) {
          for (const w of waiting) w.reject(this.failedError());
          continue;
        }
        try {
          await writeFileAtomic(this.dir, this.file, [encodeHardState(target)]);
          this.fsyncCount += 2;
          this.durable = target;
          for (const w of waiting) w.resolve();
        } catch (e) {
          this.failure = e instanceof RaftStorageError ? e : ioError('save', this.file, e);
          for (const w of waiting) w.reject(this.failure);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}

/** The in-memory twin of {@link FileStableStore}, with the same validation and visibility. */
export class MemoryStableStore implements StableStore {
  private durable: HardState = { ...EMPTY_HARD_STATE };
  private closed = false;

  hardState(): HardState {
    return { ...this.durable };
  }

  async save(hs: HardState): Promise<void> {
    if (this.closed) throw closedError('MemoryStableStore');
    checkHardState(this.durable, hs);
    this.durable = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
