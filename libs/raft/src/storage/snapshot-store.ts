import { type FileHandle, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { ConfState, Snapshot, SnapshotMeta } from '../core/types';
import { TEMP_SUFFIX, fsyncDir, hasErrno, mkdirDurable, unlinkIfExists, writeFileAtomic } from './fs-util';
import { RaftStorageError, closedError, corruptError, invalidArgument, ioError } from './storage-errors';

/**
 * Durable snapshots of the state machine, on disk (FileSnapshotStore) or in memory (MemorySnapshotStore)
 * with the same contract.
 *
 * Order of operations for the caller: save a snapshot before compacting the log up to its index (or
 * resetting the log to it); otherwise a crash in between leaves entries that nothing covers.
 */
export interface SnapshotStore {
  /**
   * Saves `snapshot` atomically and durably; once it resolves, `latest()` returns it. Keeps the newest
   * `retain` snapshots (default 2) and deletes older ones. A snapshot at the same index as the newest
   * replaces it. Rejects with `RaftStorageInvalidArgument` when `meta.index` is below the newest snapshot's
   * (or a field is malformed). Saves are serialized in call order. `data` is written as given, without a
   * copy: do not modify it until the promise resolves.
   */
  save(snapshot: Snapshot): Promise<void>;
  /**
   * The newest snapshot, read back and verified, or undefined when there is none. Rejects with
   * `RaftStorageCorrupt` naming the file when it fails verification; an older snapshot is never used
   * instead, because the log may already be compacted up to the newest one.
   */
  latest(): Promise<Snapshot | undefined>;
  /** The newest snapshot's metadata, from memory. */
  latestMeta(): SnapshotMeta | undefined;
  /** Waits for a save in progress, then releases the store. Later calls reject with `RaftStorageClosed`. */
  close(): Promise<void>;
}

/** Snapshots kept by default. */
export const DEFAULT_SNAPSHOT_RETAIN = 2;

/** Validates a snapshot to save after the newest one at `newestIndex`; throws `RaftStorageInvalidArgument`. */
export function checkSnapshot(s: Snapshot, newestIndex: number | undefined): void {
  if (s === null || typeof s !== 'object' || s.meta === null || typeof s.meta !== 'object') {
    throw invalidArgument('snapshot must be an object with meta and data');
  }
  const { index, term, conf } = s.meta;
  if (!Number.isSafeInteger(index) || index < 0) throw invalidArgument(`snapshot index ${index} is not an integer ≥ 0`);
  if (!Number.isSafeInteger(term) || term < 0) throw invalidArgument(`snapshot term ${term} is not an integer ≥ 0`);
  if (!isConfState(conf)) throw invalidArgument('snapshot conf must be {voters: string[], learners: string[]}');
  if (!(s.data instanceof Uint8Array)) throw invalidArgument('snapshot data must be a Uint8Array');
  if (newestIndex !== undefined && index < newestIndex) {
    throw invalidArgument(`snapshot at index ${index} is older than the newest saved one at ${newestIndex}`);
  }
}

function isConfState(c: unknown): c is ConfState {
  const isIds = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === 'string');
  return typeof c === 'object' && c !== null && isIds((c as ConfState).voters) && isIds((c as ConfState).learners);
}

function copyMeta(m: SnapshotMeta): SnapshotMeta {
  return { index: m.index, term: m.term, conf: { voters: [...m.conf.voters], learners: [...m.conf.learners] } };
}

/*
 * File `snap-<index, 20 digits>.snap` (little-endian):
 *   magic "SRGRAFTS" | u32 header crc | u32 version (1) | u32 meta length | u64 data length | u32 data crc
 *   | meta (JSON of SnapshotMeta) | data
 * The header crc covers bytes 12 up to the end of the meta; the data crc covers the data.
 */
const MAGIC = Buffer.from('SRGRAFTS', 'latin1');
const VERSION = 1;
const HEADER_BYTES = 32;
const MAX_META_BYTES = 16 * 1024 * 1024;
const NAME = /^snap-(\d{20})\.snap$/;

function snapshotName(index: number): string {
  return `snap-${String(index).padStart(20, '0')}.snap`;
}

/** Encodes the header and metadata of a snapshot file (the data follows). */
export function encodeSnapshotHeader(s: Snapshot): Buffer {
  const meta = Buffer.from(JSON.stringify(copyMeta(s.meta)), 'utf8');
  const b = Buffer.alloc(HEADER_BYTES + meta.length);
  MAGIC.copy(b, 0);
  b.writeUInt32LE(VERSION, 12);
  b.writeUInt32LE(meta.length, 16);
  b.writeUInt32LE(s.data.byteLength >>> 0, 20);
  b.writeUInt32LE(Math.floor(s.data.byteLength / 0x1_0000_0000), 24);
  b.writeUInt32LE(crc32(s.data), 28);
  meta.copy(b, HEADER_BYTES);
  b.writeUInt32LE(crc32(b.subarray(12)), 8);
  return b;
}

interface SnapshotHeader {
  meta: SnapshotMeta;
  dataOffset: number;
  dataLength: number;
  dataCrc: number;
}

/** Reads and verifies the header of an open snapshot file; throws `RaftStorageCorrupt` naming `file`. */
async function readHeader(fh: FileHandle, file: string, expectIndex: number): Promise<SnapshotHeader> {
  const { size } = await fh.stat();
  const head = Buffer.alloc(HEADER_BYTES);
  const { bytesRead } = await fh.read(head, 0, HEADER_BYTES, 0);
  if (bytesRead < HEADER_BYTES) throw corruptError(file, undefined, `snapshot file is truncated (${size} bytes)`);
  if (!head.subarray(0, 8).equals(MAGIC)) throw corruptError(file, 0, 'not a snapshot file (wrong magic number)');
  const version = head.readUInt32LE(12);
  const metaLen = head.readUInt32LE(16);
  const dataLength = head.readUInt32LE(24) * 0x1_0000_0000 + head.readUInt32LE(20);
  if (metaLen > MAX_META_BYTES || HEADER_BYTES + metaLen > size) {
    throw corruptError(file, 16, `snapshot metadata length ${metaLen} is implausible for a ${size}-byte file`);
  }
  const b = Buffer.alloc(HEADER_BYTES + metaLen);
  head.copy(b, 0);
  await fh.read(b, HEADER_BYTES, metaLen, HEADER_BYTES);
  if (b.readUInt32LE(8) !== crc32(b.subarray(12))) throw corruptError(file, 8, 'snapshot header checksum mismatch');
  if (version !== VERSION) throw corruptError(file, 12, `snapshot format version ${version} is not supported`);
  if (HEADER_BYTES + metaLen + dataLength !== size) {
    throw corruptError(
      file,
      undefined,
      `snapshot file has ${size} bytes, its header says ${HEADER_BYTES + metaLen + dataLength} (truncated?)`,
    );
  }
  let meta: SnapshotMeta;
  try {
    meta = JSON.parse(b.toString('utf8', HEADER_BYTES)) as SnapshotMeta;
    checkSnapshot({ meta, data: new Uint8Array(0) }, undefined);
  } catch {
    throw corruptError(file, HEADER_BYTES, 'snapshot metadata is malformed');
  }
  if (meta.index !== expectIndex)
    throw corruptError(
      file,
      HEADER_BYTES,
      `snapshot metadata says index ${meta.index}, the file name says ${expectIndex}`,
    );
  return { meta: copyMeta(meta), dataOffset: HEADER_BYTES + metaLen, dataLength, dataCrc: b.readUInt32LE(28) };
}

/** Options of {@link FileSnapshotStore.open}. */
export interface SnapshotStoreOptions {
  /** Snapshots kept (the newest ones). Default 2, at least 1. */
  retain?: number;
}

/**
 * {@link SnapshotStore} as one file per snapshot in its own directory: each written to a temporary file,
 * fsynced, renamed into place and the directory fsynced; checksummed (header with metadata, and data).
 */
export class FileSnapshotStore implements SnapshotStore {
  /** Metadata of the snapshots on disk, oldest first. */
  private catalog: SnapshotMeta[];
  private newestRequested: number | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closePromise: Promise<void> | undefined;

  private constructor(
    /** The directory holding the snapshot files. */
    readonly dir: string,
    private readonly retain: number,
    catalog: SnapshotMeta[],
  ) {
    this.catalog = catalog;
    this.newestRequested = catalog[catalog.length - 1]?.index;
  }

  /**
   * Opens (creating it if needed) the snapshot directory `dir`. Half-written temporary files left by a
   * crash are deleted; every snapshot's header is verified (`RaftStorageCorrupt` naming the file otherwise;
   * the data is verified by `latest()`).
   */
  static async open(dir: string, options: SnapshotStoreOptions = {}): Promise<FileSnapshotStore> {
    const retain = options.retain ?? DEFAULT_SNAPSHOT_RETAIN;
    if (!Number.isSafeInteger(retain) || retain < 1)
      throw invalidArgument(`snapshot store option retain must be an integer ≥ 1, got ${retain}`);
    await mkdirDurable(dir);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      throw ioError('list directory', dir, e);
    }
    let removed = false;
    const found: { index: number; file: string }[] = [];
    for (const name of names) {
      if (name.endsWith(TEMP_SUFFIX)) {
        removed = (await unlinkIfExists(join(dir, name))) || removed;
        continue;
      }
      const m = NAME.exec(name);
      if (m) found.push({ index: Number(m[1]), file: join(dir, name) });
    }
    if (removed) await fsyncDir(dir);
    found.sort((a, b) => a.index - b.index);
    const catalog: SnapshotMeta[] = [];
    for (const { index, file } of found) {
      catalog.push((await withFile(file, (fh) => readHeader(fh, file, index))).meta);
    }
    return new FileSnapshotStore(dir, retain, catalog);
  }

  latestMeta(): SnapshotMeta | undefined {
    const m = this.catalog[this.catalog.length - 1];
    return m ? copyMeta(m) : undefined;
  }

  save(snapshot: Snapshot): Promise<void> {
    if (this.closePromise) return Promise.reject(closedError('FileSnapshotStore'));
    try {
      checkSnapshot(snapshot, this.newestRequested);
    } catch (e) {
      return Promise.reject(e);
    }
    this.newestRequested = snapshot.meta.index;
    const meta = copyMeta(snapshot.meta);
    const header = encodeSnapshotHeader(snapshot);
    const data = snapshot.data;
    const p = this.chain.then(() => this.write(meta, header, data));
    this.chain = p.catch(() => undefined);
    return p;
  }

  async latest(): Promise<Snapshot | undefined> {
    if (this.closePromise) throw closedError('FileSnapshotStore');
    for (;;) {
      const m = this.catalog[this.catalog.length - 1];
      if (!m) return undefined;
      try {
        return await this.read(m);
      } catch (e) {
        // A save that finished meanwhile may have deleted it (retain 1): read the newer one instead.
        const newest = this.catalog[this.catalog.length - 1];
        if (!(e instanceof RaftStorageError && hasErrno(e.cause, 'ENOENT') && newest && newest.index !== m.index))
          throw e;
      }
    }
  }

  private read(m: SnapshotMeta): Promise<Snapshot> {
    const file = join(this.dir, snapshotName(m.index));
    return withFile(file, async (fh) => {
      const h = await readHeader(fh, file, m.index);
      const data = new Uint8Array(h.dataLength);
      let done = 0;
      while (done < h.dataLength) {
        const { bytesRead } = await fh.read(data, done, h.dataLength - done, h.dataOffset + done);
        if (bytesRead === 0) throw corruptError(file, h.dataOffset + done, 'snapshot data is truncated');
        done += bytesRead;
      }
      if (crc32(data) !== h.dataCrc) throw corruptError(file, h.dataOffset, 'snapshot data checksum mismatch');
      return { meta: h.meta, data };
    });
  }

  close(): Promise<void> {
    this.closePromise ??= this.chain;
    return this.closePromise;
  }

  private async write(meta: SnapshotMeta, header: Buffer, data: Uint8Array): Promise<void> {
    const file = join(this.dir, snapshotName(meta.index));
    await writeFileAtomic(this.dir, file, [header, data]);
    this.catalog = this.catalog.filter((m) => m.index !== meta.index);
    this.catalog.push(meta);
    const drop = this.catalog.slice(0, Math.max(0, this.catalog.length - this.retain));
    for (const old of drop) await unlinkIfExists(join(this.dir, snapshotName(old.index)));
    this.catalog = this.catalog.slice(drop.length);
    if (drop.length > 0) await fsyncDir(this.dir);
  }
}

async function withFile<T>(file: string, f: (fh: FileHandle) => Promise<T>): Promise<T> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw ioError('open', file, e);
  }
  try {
    return await f(fh);
  } catch (e) {
    throw e instanceof RaftStorageError ? e : ioError('read', file, e);
  } finally {
    await fh.close();
  }
}

/** The in-memory twin of {@link FileSnapshotStore}, with the same validation and retention. */
export class MemorySnapshotStore implements SnapshotStore {
  private snaps: Snapshot[] = [];
  private closed = false;

  constructor(private readonly retain = DEFAULT_SNAPSHOT_RETAIN) {
    if (!Number.isSafeInteger(retain) || retain < 1)
      throw invalidArgument(`snapshot store option retain must be an integer ≥ 1, got ${retain}`);
  }

  async save(snapshot: Snapshot): Promise<void> {
    if (this.closed) throw closedError('MemorySnapshotStore');
    checkSnapshot(snapshot, this.snaps[this.snaps.length - 1]?.meta.index);
    const copy = { meta: copyMeta(snapshot.meta), data: snapshot.data.slice() };
    this.snaps = this.snaps.filter((s) => s.meta.index !== copy.meta.index);
    this.snaps.push(copy);
    if (this.snaps.length > this.retain) this.snaps = this.snaps.slice(this.snaps.length - this.retain);
  }

  async latest(): Promise<Snapshot | undefined> {
    if (this.closed) throw closedError('MemorySnapshotStore');
    const s = this.snaps[this.snaps.length - 1];
    return s ? { meta: copyMeta(s.meta), data: s.data.slice() } : undefined;
  }

  latestMeta(): SnapshotMeta | undefined {
    const s = this.snaps[this.snaps.length - 1];
    return s ? copyMeta(s.meta) : undefined;
  }

  /** Number of snapshots held (for retention tests). */
  count(): number {
    return this.snaps.length;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
