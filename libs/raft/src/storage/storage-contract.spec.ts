import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Entry, EntryType, entrySize } from '../core/types';
import { FileLogStore } from './file-log-store';
import type { LogStore, LogStoreLimits } from './log-store';
import { MemoryLogStore } from './memory-log-store';
import { FileSnapshotStore, MemorySnapshotStore, type SnapshotStore } from './snapshot-store';
import { FileStableStore, MemoryStableStore, type StableStore } from './stable-store';
import type { RaftStorageErrorCode } from './storage-errors';
import { makeEntries, plain, useTempDir } from '../../test/temp-dir';

// The same contract suite runs against the durable stores and their in-memory twins.

const tmp = useTempDir('raft-contract-');

interface Impl {
  name: string;
  log(limits?: Partial<LogStoreLimits>): Promise<LogStore>;
  stable(): Promise<StableStore>;
  snapshots(retain?: number): Promise<SnapshotStore & { held(): Promise<number> }>;
}

const impls: Impl[] = [
  {
    name: 'file',
    log: async (limits) =>
      tmp.track(await FileLogStore.open(join(tmp.dir(), 'wal'), { ...limits, segmentBytes: 4096 })),
    stable: async () => tmp.track(await FileStableStore.open(tmp.dir())),
    snapshots: async (retain) => {
      const dir = join(tmp.dir(), 'snapshots');
      const s = tmp.track(await FileSnapshotStore.open(dir, { retain }));
      return Object.assign(s, { held: async () => (await readdir(dir)).filter((n) => n.endsWith('.snap')).length });
    },
  },
  {
    name: 'memory',
    log: async (limits) => new MemoryLogStore(limits),
    stable: async () => new MemoryStableStore(),
    snapshots: async (retain) => {
      const s = new MemorySnapshotStore(retain);
      return Object.assign(s, { held: async () => s.count() });
    },
  },
];

async function rejectsWith(p: Promise<unknown>, code: RaftStorageErrorCode): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err as Error & { code?: string },
  );
  expect(e).toBeInstanceOf(Error);
  expect((e as { code?: string }).code).toBe(code);
  return e as Error;
}

describe.each(impls)('LogStore contract ($name)', (impl) => {
  it('starts empty: firstIndex 1, lastIndex 0, term(0) = 0', async () => {
    const log = await impl.log();
    expect(log.firstIndex()).toBe(1);
    expect(log.lastIndex()).toBe(0);
    expect(log.term(0)).toBe(0);
    expect(log.term(1)).toBeUndefined();
    expect(await log.entries(1, 1)).toEqual([]);
  });

  it('round-trips entries: index, term, type and data, including empty data', async () => {
    const log = await impl.log();
    const es: Entry[] = [
      ...makeEntries(1, 9, 1, 33),
      { index: 10, term: 2, type: EntryType.Normal, data: new Uint8Array(0) },
      { index: 11, term: 3, type: EntryType.ConfChange, data: new Uint8Array([0, 255, 1, 254]) },
    ];
    await log.append(es);
    expect(log.lastIndex()).toBe(11);
    expect(plain(await log.entries(1, 12))).toEqual(plain(es));
    expect(plain(await log.entries(4, 7))).toEqual(plain(es.slice(3, 6)));
    expect(log.term(9)).toBe(1);
    expect(log.term(10)).toBe(2);
    expect(log.term(12)).toBeUndefined();
  });

  it('limits entries() by maxBytes, yet returns at least one entry', async () => {
    const log = await impl.log();
    const es = makeEntries(1, 10, 1, 100);
    await log.append(es);
    const one = entrySize(es[0]);
    expect(await log.entries(1, 11, 0)).toHaveLength(1);
    expect(await log.entries(1, 11, one * 3)).toHaveLength(3);
    expect(await log.entries(1, 11, one * 3 + one - 1)).toHaveLength(3);
    expect(await log.entries(2, 11, 1e9)).toHaveLength(9);
  });

  it('rejects reads outside the log with stable codes', async () => {
    const log = await impl.log();
    await log.append(makeEntries(1, 10, 1));
    await log.compact(3);
    await rejectsWith(log.entries(3, 5), 'RaftStorageCompacted');
    await rejectsWith(log.entries(5, 12), 'RaftStorageUnavailable');
    await rejectsWith(log.entries(6, 5), 'RaftStorageInvalidArgument');
  });

  it('overwrites a conflicting suffix and keeps what came before it', async () => {
    const log = await impl.log();
    await log.append(makeEntries(1, 10, 1));
    await log.append(makeEntries(6, 8, 2));
    expect(log.lastIndex()).toBe(8);
    expect(log.term(5)).toBe(1);
    expect(log.term(6)).toBe(2);
    expect(log.term(9)).toBeUndefined();
    expect(plain(await log.entries(1, 9))).toEqual(plain([...makeEntries(1, 5, 1), ...makeEntries(6, 8, 2)]));
    // Overwriting from the very first entry replaces everything.
    await log.append(makeEntries(1, 2, 3));
    expect(log.lastIndex()).toBe(2);
    expect(plain(await log.entries(1, 3))).toEqual(plain(makeEntries(1, 2, 3)));
  });

  it('rejects appends that would leave a gap, lower a term or break consecutiveness', async () => {
    const log = await impl.log();
    await log.append(makeEntries(1, 5, 2));
    await rejectsWith(log.append(makeEntries(7, 8, 2)), 'RaftStorageInvalidArgument');
    await rejectsWith(log.append(makeEntries(6, 6, 1)), 'RaftStorageInvalidArgument');
    await rejectsWith(log.append([...makeEntries(6, 6, 2), ...makeEntries(8, 8, 2)]), 'RaftStorageInvalidArgument');
    await rejectsWith(log.append([...makeEntries(6, 6, 3), ...makeEntries(7, 7, 2)]), 'RaftStorageInvalidArgument');
    await rejectsWith(
      log.append([{ index: 6, term: 2, type: 0, data: 'x' as unknown as Uint8Array }]),
      'RaftStorageInvalidArgument',
    );
    await rejectsWith(
      log.append([{ index: 0, term: 2, type: 0, data: new Uint8Array(0) }]),
      'RaftStorageInvalidArgument',
    );
    expect(log.lastIndex()).toBe(5);
    await log.append([]);
    expect(log.lastIndex()).toBe(5);
  });

  it('rejects an entry over maxEntryBytes', async () => {
    const log = await impl.log({ maxEntryBytes: 64 });
    await log.append(makeEntries(1, 1, 1, 64));
    const e = await rejectsWith(log.append(makeEntries(2, 2, 1, 65)), 'RaftStorageInvalidArgument');
    expect(e.message).toMatch(/maxEntryBytes/);
  });

  it('compacts a prefix: firstIndex moves, term(firstIndex-1) still answers', async () => {
    const log = await impl.log();
    await log.append(makeEntries(1, 10, 1));
    await log.append(makeEntries(11, 20, 2));
    await log.compact(12);
    expect(log.firstIndex()).toBe(13);
    expect(log.lastIndex()).toBe(20);
    expect(log.term(12)).toBe(2);
    expect(log.term(11)).toBeUndefined();
    expect(plain(await log.entries(13, 21))).toEqual(plain(makeEntries(13, 20, 2)));
    await log.compact(5); // below the compaction point: no-op
    expect(log.firstIndex()).toBe(13);
    await rejectsWith(log.compact(21), 'RaftStorageUnavailable');
  });

  it('skips appended entries at or below the compaction point, and overwrites right after it', async () => {
    const log = await impl.log();
    await log.append(makeEntries(1, 10, 1));
    await log.compact(5);
    await log.append(makeEntries(3, 12, 1));
    expect(log.firstIndex()).toBe(6);
    expect(log.lastIndex()).toBe(12);
    await log.append(makeEntries(6, 6, 2));
    expect(log.lastIndex()).toBe(6);
    expect(log.term(6)).toBe(2);
    // An entry at the compaction point with another term contradicts the snapshot.
    await rejectsWith(log.append(makeEntries(5, 6, 3)), 'RaftStorageInvalidArgument');
  });

  it('compacts everything, then appends after the compaction point', async () => {
    const log = await impl.log();
    await log.append(makeEntries(1, 10, 1));
    await log.compact(10);
    expect(log.firstIndex()).toBe(11);
    expect(log.lastIndex()).toBe(10);
    expect(log.term(10)).toBe(1);
    await log.append(makeEntries(11, 12, 2));
    expect(plain(await log.entries(11, 13))).toEqual(plain(makeEntries(11, 12, 2)));
  });

  it('applySnapshot discards the log and restarts it after the snapshot', async () => {
    const log = await impl.log();
    await log.append(makeEntries(1, 10, 1));
    await log.applySnapshot(100, 7);
    expect(log.firstIndex()).toBe(101);
    expect(log.lastIndex()).toBe(100);
    expect(log.term(100)).toBe(7);
    expect(log.term(5)).toBeUndefined();
    await rejectsWith(log.append(makeEntries(102, 102, 7)), 'RaftStorageInvalidArgument');
    await rejectsWith(log.append(makeEntries(101, 101, 6)), 'RaftStorageInvalidArgument');
    await log.append(makeEntries(101, 103, 7));
    expect(log.lastIndex()).toBe(103);
    await rejectsWith(log.applySnapshot(50, 9), 'RaftStorageInvalidArgument');
    await log.applySnapshot(100, 7); // the same point again: drops the entries after it
    expect(log.lastIndex()).toBe(100);
  });

  it('applies concurrent writes in call order, each validated against the ones before', async () => {
    const log = await impl.log();
    const results = await Promise.allSettled([
      log.append(makeEntries(1, 5, 1)),
      log.append(makeEntries(6, 10, 1)),
      log.append(makeEntries(12, 12, 1)), // gap: rejected alone
      log.append(makeEntries(4, 6, 2)), // overwrites 4..10
      log.compact(2),
      log.append(makeEntries(7, 7, 2)),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(log.firstIndex()).toBe(3);
    expect(log.lastIndex()).toBe(7);
    expect(plain(await log.entries(3, 8))).toEqual(plain([...makeEntries(3, 3, 1), ...makeEntries(4, 7, 2)]));
  });

  it('refuses calls after close, with RaftStorageClosed', async () => {
    const log = await impl.log();
    await log.append(makeEntries(1, 3, 1));
    await log.close();
    await log.close();
    await rejectsWith(log.append(makeEntries(4, 4, 1)), 'RaftStorageClosed');
    await rejectsWith(log.entries(1, 2), 'RaftStorageClosed');
  });

  it('counts appends and entries in stats()', async () => {
    const log = await impl.log();
    await log.append(makeEntries(1, 3, 1));
    await log.append(makeEntries(4, 4, 1));
    expect(log.stats()).toMatchObject({ appendCalls: 2, entriesWritten: 4 });
  });
});

describe.each(impls)('StableStore contract ($name)', (impl) => {
  it('starts with term 0, no vote, commit 0, and returns what was saved', async () => {
    const st = await impl.stable();
    expect(st.hardState()).toEqual({ term: 0, vote: '', commit: 0 });
    await st.save({ term: 3, vote: 'meta-2', commit: 17 });
    expect(st.hardState()).toEqual({ term: 3, vote: 'meta-2', commit: 17 });
  });

  it('refuses a lower term, a second vote in one term, and a lower commit', async () => {
    const st = await impl.stable();
    await st.save({ term: 5, vote: '', commit: 10 });
    await st.save({ term: 5, vote: 'a', commit: 10 }); // first vote in term 5
    await rejectsWith(st.save({ term: 4, vote: '', commit: 10 }), 'RaftStorageInvalidArgument');
    await rejectsWith(st.save({ term: 5, vote: 'b', commit: 10 }), 'RaftStorageInvalidArgument');
    await rejectsWith(st.save({ term: 5, vote: '', commit: 10 }), 'RaftStorageInvalidArgument');
    await rejectsWith(st.save({ term: 5, vote: 'a', commit: 9 }), 'RaftStorageInvalidArgument');
    await rejectsWith(st.save({ term: -1, vote: '', commit: 0 } as never), 'RaftStorageInvalidArgument');
    await st.save({ term: 6, vote: 'b', commit: 11 });
    expect(st.hardState()).toEqual({ term: 6, vote: 'b', commit: 11 });
  });

  it('resolves every concurrent save, ending with the last one', async () => {
    const st = await impl.stable();
    const saves = [];
    for (let c = 1; c <= 50; c++) saves.push(st.save({ term: 1 + Math.floor(c / 10), vote: '', commit: c }));
    await Promise.all(saves);
    expect(st.hardState()).toEqual({ term: 6, vote: '', commit: 50 });
  });

  it('refuses saves after close', async () => {
    const st = await impl.stable();
    await st.close();
    await rejectsWith(st.save({ term: 1, vote: '', commit: 0 }), 'RaftStorageClosed');
  });
});

describe.each(impls)('SnapshotStore contract ($name)', (impl) => {
  const snap = (index: number, term: number, fill: number, size = 1000) => ({
    meta: { index, term, conf: { voters: ['a', 'b', 'c'], learners: ['d'] } },
    data: new Uint8Array(size).fill(fill),
  });

  it('has no snapshot at first', async () => {
    const s = await impl.snapshots();
    expect(await s.latest()).toBeUndefined();
    expect(s.latestMeta()).toBeUndefined();
  });

  it('round-trips the newest snapshot, metadata and data', async () => {
    const s = await impl.snapshots();
    await s.save(snap(10, 2, 7));
    await s.save(snap(20, 3, 9, 0));
    expect(s.latestMeta()).toEqual(snap(20, 3, 9).meta);
    const got = await s.latest();
    expect(got?.meta).toEqual(snap(20, 3, 9).meta);
    expect(Array.from(got?.data ?? [])).toEqual([]);
  });

  it('keeps only the newest `retain` snapshots', async () => {
    const s = await impl.snapshots(2);
    for (let i = 1; i <= 5; i++) await s.save(snap(i * 10, 1, i));
    expect(await s.held()).toBe(2);
    const got = await s.latest();
    expect(got?.meta.index).toBe(50);
    expect(got?.data[0]).toBe(5);
  });

  it('refuses an older snapshot; the same index replaces the newest', async () => {
    const s = await impl.snapshots();
    await s.save(snap(10, 2, 1));
    await rejectsWith(s.save(snap(9, 2, 1)), 'RaftStorageInvalidArgument');
    await rejectsWith(
      s.save({ meta: { index: 11, term: 2, conf: { voters: 'a' } }, data: new Uint8Array(0) } as never),
      'RaftStorageInvalidArgument',
    );
    await s.save(snap(10, 2, 4));
    expect((await s.latest())?.data[0]).toBe(4);
    expect(await s.held()).toBe(1);
  });
});
