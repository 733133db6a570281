// Durable storage of a Raft node: write-ahead log, hard state and snapshots, with in-memory twins.
export { RaftStorageError } from './storage-errors';
export type { RaftStorageErrorCode, RaftStorageErrorDetails } from './storage-errors';
export { DEFAULT_LOG_LIMITS, MAX_ENTRY_BYTES_LIMIT } from './log-store';
export type { LogStore, LogStoreLimits, LogStoreStats } from './log-store';
export { FileLogStore, DEFAULT_MAX_BATCH_BYTES, DEFAULT_SEGMENT_BYTES } from './file-log-store';
export type { FileLogStoreOptions, LogRecoveryReport } from './file-log-store';
export { MemoryLogStore } from './memory-log-store';
export { FileStableStore, MemoryStableStore, checkHardState, HARD_STATE_FILE, MAX_NODE_ID_BYTES } from './stable-store';
export type { StableStore } from './stable-store';
export { FileSnapshotStore, MemorySnapshotStore, checkSnapshot, DEFAULT_SNAPSHOT_RETAIN } from './snapshot-store';
export type { SnapshotStore, SnapshotStoreOptions } from './snapshot-store';
/** Bytes the write-ahead log adds to each entry's data (for sizing benchmarks against a raw write). */
export { RECORD_OVERHEAD as WAL_RECORD_OVERHEAD } from './wal-format';
export { DirLock, LOCK_FILE } from './dir-lock';
export type { LockHolder } from './dir-lock';
export { openRaftStorage, createMemoryRaftStorage } from './raft-storage';
export type { RaftStorage, RaftStorageOptions, FileRaftStorage } from './raft-storage';
