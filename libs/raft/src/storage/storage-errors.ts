/** Stable codes of {@link RaftStorageError}. */
export type RaftStorageErrorCode =
  /**
   * Durable data failed a checksum, is truncated, or does not follow on (a gap) somewhere other than the
   * torn tail of the write-ahead log. Nothing is repaired automatically: restore the node from a healthy
   * replica or a backup. `file` and `offset` say where.
   */
  | 'RaftStorageCorrupt'
  /** Another process (or another open in this process) holds the storage directory's lock file. */
  | 'RaftStorageLocked'
  /** A read, write or fsync failed. After a failed write or fsync the store refuses further writes. */
  | 'RaftStorageIo'
  /** The store failed earlier (see `cause`) and must be closed and reopened, which runs recovery. */
  | 'RaftStorageFailed'
  /** The store was closed. */
  | 'RaftStorageClosed'
  /** The caller broke a documented contract (a gap in appended indexes, a decreasing term, a bad value). */
  | 'RaftStorageInvalidArgument'
  /** A requested log index is below the first index kept (compacted into a snapshot). */
  | 'RaftStorageCompacted'
  /** A requested log index is above the last index. */
  | 'RaftStorageUnavailable'
  /** Too many bytes are waiting to be written: the caller should wait for earlier appends first. */
  | 'RaftStorageOverloaded';

/** Where on disk a {@link RaftStorageError} happened, when it concerns a file. */
export interface RaftStorageErrorDetails {
  /** Absolute path of the file concerned. */
  file?: string;
  /** Byte offset in `file` of the damaged record. */
  offset?: number;
  cause?: unknown;
}

/**
 * Every error of the storage layer. `code` is stable; the message names the file and offset when there is
 * one and says what to do.
 */
export class RaftStorageError extends Error {
  override readonly name = 'RaftStorageError';
  readonly file?: string;
  readonly offset?: number;

  constructor(
    readonly code: RaftStorageErrorCode,
    message: string,
    details: RaftStorageErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.file = details.file;
    this.offset = details.offset;
  }
}

/** A {@link RaftStorageError} `RaftStorageCorrupt` naming the file (and offset when known). */
export function corruptError(file: string, offset: number | undefined, what: string): RaftStorageError {
  const where = offset === undefined ? file : `${file} at offset ${offset}`;
  return new RaftStorageError(
    'RaftStorageCorrupt',
    `Raft storage is corrupt: ${what} (${where}). Committed data may be damaged, so nothing was repaired; ` +
      `restore this node from a healthy replica or a backup.`,
    { file, offset },
  );
}

/** Wraps a Node.js I/O error as `RaftStorageIo`, naming the operation and file. */
export function ioError(op: string, file: string, cause: unknown): RaftStorageError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new RaftStorageError('RaftStorageIo', `Raft storage ${op} failed for ${file}: ${why}`, { file, cause });
}

/** A `RaftStorageInvalidArgument` error. */
export function invalidArgument(message: string): RaftStorageError {
  return new RaftStorageError('RaftStorageInvalidArgument', message);
}

/** A `RaftStorageClosed` error for `what`. */
export function closedError(what: string): RaftStorageError {
  return new RaftStorageError('RaftStorageClosed', `${what} is closed`);
}
