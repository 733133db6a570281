import { type HardState, MemoryStorage, type Ready, type Snapshot } from '../core';
import type { RaftStorage } from '../storage';

/** What a node restarts from, as {@link DurableState.load} found it. */
export interface LoadedState {
  /** The latest snapshot, if any (its data is the shell's envelope). */
  snapshot: Snapshot | undefined;
  hardState: HardState;
  firstIndex: number;
  lastIndex: number;
}

/**
 * Persists what each Ready asks into the durable {@link RaftStorage} and mirrors it into the core's
 * synchronous {@link MemoryStorage} (`mirror`).
 *
 * Durability rules (etcd's): entries, snapshots, and changes of term or vote are fsynced before `persist`
 * resolves, so no message that depends on them leaves before they are on disk. A change of the commit index
 * alone is not worth an fsync (the commit index is re-learned from the leader after a crash): it is written
 * lazily by {@link flushCommit}, at most one write in flight, and never ahead of the durable log.
 */
export class DurableState {
  /** What the core reads: every durable change, mirrored in the same order. */
  readonly mirror = new MemoryStorage();
  /** The newest hard state the core asked for. */
  private wanted: HardState;
  /** The newest hard state handed to the stable store. */
  private requested: HardState;
  private lazyWrite: Promise<void> | undefined;
  private snapshotSaves: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly storage: RaftStorage,
    hs: HardState,
  ) {
    this.wanted = { ...hs };
    this.requested = { ...hs };
  }

  /**
   * Reads the durable state into a mirror. Reconciles a crash between saving a received snapshot and
   * resetting the log (the log is reset to the snapshot). Errors of the stores propagate (`RaftStorageCorrupt`
   * names the damaged file).
   */
  static async load(storage: RaftStorage): Promise<{ state: DurableState; loaded: LoadedState }> {
    const snap = await storage.snapshots.latest();
    const log = storage.log;
    const snapIndex = snap?.meta.index ?? 0;
    if (snap && log.term(snapIndex) !== snap.meta.term) {
      // The snapshot is newer than the log (installed from the leader; the crash came before the reset).
      await log.applySnapshot(snapIndex, snap.meta.term);
    }
    const stored = storage.stable.hardState();
    const st = new DurableState(storage, stored);
    if (snap) st.mirror.applySnapshot(snap);
    const lo = Math.max(log.firstIndex(), snapIndex + 1);
    const hi = log.lastIndex() + 1;
    if (lo < hi) st.mirror.append(await log.entries(lo, hi));
    // A snapshot proves its index committed even when the lazily written commit index lags behind it.
    const hs: HardState = { ...stored, commit: Math.max(stored.commit, snapIndex) };
    st.mirror.setHardState(hs);
    return {
      state: st,
      loaded: { snapshot: snap, hardState: hs, firstIndex: st.mirror.firstIndex(), lastIndex: st.mirror.lastIndex() },
    };
  }

  /** Whether saving `hs` changes the term or the vote (which must be durable before any message leaves). */
  changesTermOrVote(hs: HardState | undefined): boolean {
    return hs !== undefined && (hs.term !== this.wanted.term || hs.vote !== this.wanted.vote);
  }

  /**
   * Makes a Ready's snapshot, entries and hard state durable (one log write and one fsync for all its
   * entries; the stable store's write runs beside it). Resolves, with whether anything was written, when
   * the Ready's messages may be sent.
   */
  async persist(rd: Ready): Promise<boolean> {
    const log = this.storage.log;
    if (rd.snapshot) {
      const s = rd.snapshot;
      await this.snapshotSaves;
      await this.storage.snapshots.save(s);
      await log.applySnapshot(s.meta.index, s.meta.term);
      this.mirror.applySnapshot(s);
    }
    // What is durable before this Ready's entries (a memory log shows an append at once, a file log after).
    const durableLast = log.lastIndex();
    const writes: Promise<void>[] = [];
    if (rd.entries.length > 0) {
      this.mirror.append(rd.entries);
      writes.push(log.append(rd.entries));
    }
    if (rd.hardState) {
      const hs = rd.hardState;
      const termOrVote = hs.term !== this.wanted.term || hs.vote !== this.wanted.vote;
      this.wanted = { ...hs };
      if (termOrVote || rd.snapshot) writes.push(this.save(durableLast));
    }
    if (writes.length === 1) await writes[0];
    else if (writes.length > 1) await Promise.all(writes);
    return writes.length > 0 || rd.snapshot !== undefined;
  }

  /**
   * Writes the newest commit index if it moved and no lazy write is in flight (call it periodically, e.g.
   * every second). Returns the write, which callers may ignore: a failure also fails the next `persist`.
   */
  flushCommit(): Promise<void> | undefined {
    if (this.lazyWrite) return undefined;
    const commit = Math.min(this.wanted.commit, this.storage.log.lastIndex());
    if (
      commit <= this.requested.commit &&
      this.wanted.term === this.requested.term &&
      this.wanted.vote === this.requested.vote
    ) {
      return undefined;
    }
    const w = this.save(this.storage.log.lastIndex()).finally(() => {
      if (this.lazyWrite === w) this.lazyWrite = undefined;
    });
    this.lazyWrite = w;
    return w;
  }

  /** Saves `wanted`, its commit capped at `durableLast` (never ahead of the log) and never going back. */
  private save(durableLast: number): Promise<void> {
    const commit = Math.max(this.requested.commit, Math.min(this.wanted.commit, durableLast));
    const hs: HardState = { term: this.wanted.term, vote: this.wanted.vote, commit };
    this.requested = hs;
    return this.storage.stable.save(hs);
  }

  /**
   * Saves a snapshot taken by this node, then compacts the log (mirror and disk) up to `compactTo`. Skips
   * the mirror and the compaction when a newer snapshot arrived meanwhile. Snapshot saves are serialized.
   */
  saveOwnSnapshot(snap: Snapshot, compactTo: number): Promise<void> {
    const run = this.snapshotSaves.then(async () => {
      await this.storage.snapshots.save(snap);
      if (this.mirror.snapshotIndex() >= snap.meta.index) return;
      this.mirror.createSnapshot(snap.meta.index, snap.meta.conf, snap.data);
      const upTo = Math.min(compactTo, snap.meta.index);
      if (upTo >= this.mirror.firstIndex()) {
        this.mirror.compact(upTo);
        await this.storage.log.compact(upTo);
      }
    });
    this.snapshotSaves = run.catch(() => undefined);
    return run;
  }

  /** Waits for lazy writes and snapshot saves in flight (before closing the storage). */
  async drain(): Promise<void> {
    await this.snapshotSaves;
    await this.lazyWrite?.catch(() => undefined);
    await this.flushCommit()?.catch(() => undefined);
  }
}
