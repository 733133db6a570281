import { join } from 'node:path';
import { DirLock } from './dir-lock';
import { mkdirDurable } from './fs-util';
import { FileLogStore, type FileLogStoreOptions, type LogRecoveryReport } from './file-log-store';
import type { LogStore } from './log-store';
import { MemoryLogStore } from './memory-log-store';
import {
  FileSnapshotStore,
  MemorySnapshotStore,
  type SnapshotStore,
  type SnapshotStoreOptions,
} from './snapshot-store';
import { FileStableStore, MemoryStableStore, type StableStore } from './stable-store';
import { corruptError } from './storage-errors';

/** Everything a Raft node keeps across restarts. */
export interface RaftStorage {
  log: LogStore;
  stable: StableStore;
  snapshots: SnapshotStore;
  /** Closes the three stores (waiting for their writes) and, for a directory, releases its lock. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link openRaftStorage}. */
export interface RaftStorageOptions {
  log?: FileLogStoreOptions;
  snapshots?: SnapshotStoreOptions;
}

/** A {@link RaftStorage} in a directory, as returned by {@link openRaftStorage}. */
export interface FileRaftStorage extends RaftStorage {
  readonly dir: string;
  log: FileLogStore;
  stable: FileStableStore;
  snapshots: FileSnapshotStore;
  /** What the log's recovery found (log a torn tail, if any). */
  recovery: LogRecoveryReport;
}

/**
 * Opens a node's storage in `dir` (created if needed): lock file `LOCK`, write-ahead log in `wal/`, hard
 * state in `hardstate`, snapshots in `snapshots/`. Refuses with `RaftStorageLocked` when another process
 * (or another open in this process) holds the directory. Checks that the log does not start after the
 * newest snapshot (entries compacted with no snapshot covering them): `RaftStorageCorrupt` otherwise.
 * Errors of the stores' recovery propagate (`RaftStorageCorrupt`, `RaftStorageIo`); the lock is released.
 */
export async function openRaftStorage(dir: string, options: RaftStorageOptions = {}): Promise<FileRaftStorage> {
  await mkdirDurable(dir);
  const lock = await DirLock.acquire(dir);
  const opened: { close(): Promise<void> }[] = [];
  try {
    const log = await FileLogStore.open(join(dir, 'wal'), options.log);
    opened.push(log);
    const stable = await FileStableStore.open(dir);
    opened.push(stable);
    const snapshots = await FileSnapshotStore.open(join(dir, 'snapshots'), options.snapshots);
    opened.push(snapshots);
    const snapIndex = snapshots.latestMeta()?.index ?? 0;
    if (log.firstIndex() - 1 > snapIndex) {
      throw corruptError(
        log.dir,
        undefined,
        `the log is compacted up to ${log.firstIndex() - 1} but the newest snapshot is at ${snapIndex}, so entries ${snapIndex + 1}..${log.firstIndex() - 1} are lost`,
      );
    }
    let closing: Promise<void> | undefined;
    return {
      dir,
      log,
      stable,
      snapshots,
      recovery: log.recovery(),
      close: () =>
        (closing ??= (async () => {
          try {
            await Promise.all([log.close(), stable.close(), snapshots.close()]);
          } finally {
            await lock.release();
          }
        })()),
    };
  } catch (e) {
    await Promise.allSettled(opened.map((s) => s.close()));
    await lock.release();
    throw e;
  }
}

/** In-memory twins of the three stores (for tests and the simulator), with the same contracts. */
export function createMemoryRaftStorage(options: { snapshotRetain?: number } = {}): RaftStorage {
  const log = new MemoryLogStore();
  const stable = new MemoryStableStore();
  const snapshots = new MemorySnapshotStore(options.snapshotRetain);
  return {
    log,
    stable,
    snapshots,
    close: async () => {
      await Promise.all([log.close(), stable.close(), snapshots.close()]);
    },
  };
}
