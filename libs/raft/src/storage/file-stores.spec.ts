import { readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileSnapshotStore } from './snapshot-store';
import { FileStableStore, HARD_STATE_FILE } from './stable-store';
import { RaftStorageError } from './storage-errors';
import { useTempDir } from '../../test/temp-dir';

const tmp = useTempDir('raft-stores-');

async function failure(p: Promise<unknown>): Promise<RaftStorageError> {
  const e = await p.then(
    (v) => {
      if (v && typeof (v as { close?: unknown }).close === 'function') tmp.track(v as { close(): Promise<void> });
      return undefined;
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RaftStorageError);
  return e as RaftStorageError;
}

describe('FileStableStore on disk', () => {
  const file = () => join(tmp.dir(), HARD_STATE_FILE);

  it('keeps the hard state across a restart', async () => {
    const st = tmp.track(await FileStableStore.open(tmp.dir()));
    await st.save({ term: 2 ** 40, vote: 'nœud-1:9612', commit: 123456789 });
    await st.close();
    const again = tmp.track(await FileStableStore.open(tmp.dir()));
    expect(again.hardState()).toEqual({ term: 2 ** 40, vote: 'nœud-1:9612', commit: 123456789 });
  });

  it('writes a temporary file, renames it over, and fsyncs both the file and the directory', async () => {
    const st = tmp.track(await FileStableStore.open(tmp.dir()));
    await st.save({ term: 1, vote: 'a', commit: 0 });
    expect(await readdir(tmp.dir())).toEqual([HARD_STATE_FILE]);
    expect(st.fsyncs()).toBe(2);
  });

  it('deletes a temporary file left by a crash mid-save and keeps the previous state', async () => {
    const st = tmp.track(await FileStableStore.open(tmp.dir()));
    await st.save({ term: 4, vote: 'b', commit: 9 });
    await st.close();
    await writeFile(file() + '.tmp', 'half-written');
    const again = tmp.track(await FileStableStore.open(tmp.dir()));
    expect(again.hardState()).toEqual({ term: 4, vote: 'b', commit: 9 });
    expect(await readdir(tmp.dir())).toEqual([HARD_STATE_FILE]);
  });

  it('refuses a file with a flipped bit, naming it', async () => {
    const st = tmp.track(await FileStableStore.open(tmp.dir()));
    await st.save({ term: 4, vote: 'b', commit: 9 });
    await st.close();
    const b = await readFile(file());
    b[b.length - 1] ^= 1;
    await writeFile(file(), b);
    const e = await failure(FileStableStore.open(tmp.dir()));
    expect([e.code, e.file]).toEqual(['RaftStorageCorrupt', file()]);
    expect(e.message).toContain(file());
    expect(e.message).toMatch(/checksum/);
  });

  it('refuses a truncated file and a foreign file', async () => {
    const st = tmp.track(await FileStableStore.open(tmp.dir()));
    await st.save({ term: 4, vote: 'b', commit: 9 });
    await st.close();
    await truncate(file(), 30);
    expect(await failure(FileStableStore.open(tmp.dir()))).toMatchObject({ code: 'RaftStorageCorrupt', file: file() });
    await writeFile(file(), 'term=4 vote=b commit=9 and some more text');
    const e = await failure(FileStableStore.open(tmp.dir()));
    expect(e).toMatchObject({ code: 'RaftStorageCorrupt', file: file() });
    expect(e.message).toMatch(/magic/);
  });
});

describe('FileSnapshotStore on disk', () => {
  const dir = () => join(tmp.dir(), 'snapshots');
  const snap = (index: number, fill: number, size = 5000) => ({
    meta: { index, term: 3, conf: { voters: ['a', 'b'], learners: [] } },
    data: new Uint8Array(size).fill(fill),
  });
  const snapFiles = async () => (await readdir(dir())).sort();

  it('keeps the newest snapshots across a restart', async () => {
    const s = tmp.track(await FileSnapshotStore.open(dir()));
    await s.save(snap(10, 1));
    await s.save(snap(20, 2));
    await s.save(snap(30, 3));
    await s.close();
    const again = tmp.track(await FileSnapshotStore.open(dir()));
    expect(again.latestMeta()?.index).toBe(30);
    const got = await again.latest();
    expect(got?.data.length).toBe(5000);
    expect(got?.data.every((x) => x === 3)).toBe(true);
    expect(await snapFiles()).toEqual(['snap-00000000000000000020.snap', 'snap-00000000000000000030.snap']);
  });

  it('ignores and deletes a half-written temporary snapshot at open', async () => {
    const s = tmp.track(await FileSnapshotStore.open(dir()));
    await s.save(snap(10, 1));
    await s.close();
    await writeFile(join(dir(), 'snap-00000000000000000020.snap.tmp'), Buffer.alloc(100, 7));
    const again = tmp.track(await FileSnapshotStore.open(dir()));
    expect(again.latestMeta()?.index).toBe(10);
    expect(await snapFiles()).toEqual(['snap-00000000000000000010.snap']);
  });

  it('refuses the newest snapshot when its data fails the checksum, naming the file', async () => {
    const s = tmp.track(await FileSnapshotStore.open(dir()));
    await s.save(snap(10, 1));
    await s.save(snap(20, 2));
    const file = join(dir(), 'snap-00000000000000000020.snap');
    const b = await readFile(file);
    b[b.length - 10] ^= 0x10;
    await writeFile(file, b);
    const e = await failure(s.latest());
    expect([e.code, e.file]).toEqual(['RaftStorageCorrupt', file]);
    expect(e.message).toMatch(/data checksum/);
  });

  it('refuses to open with a truncated snapshot or a damaged header, naming the file', async () => {
    const s = tmp.track(await FileSnapshotStore.open(dir()));
    await s.save(snap(10, 1));
    await s.close();
    const file = join(dir(), 'snap-00000000000000000010.snap');
    const b = await readFile(file);
    await truncate(file, b.length - 1);
    let e = await failure(FileSnapshotStore.open(dir()));
    expect([e.code, e.file]).toEqual(['RaftStorageCorrupt', file]);
    expect(e.message).toMatch(/truncated/);
    b[40] ^= 1; // inside the metadata
    await writeFile(file, b);
    e = await failure(FileSnapshotStore.open(dir()));
    expect([e.code, e.file]).toEqual(['RaftStorageCorrupt', file]);
    expect(e.message).toMatch(/header checksum/);
  });

  it('refuses a snapshot file whose metadata does not match its name', async () => {
    const s = tmp.track(await FileSnapshotStore.open(dir()));
    await s.save(snap(10, 1));
    await s.close();
    const { rename } = await import('node:fs/promises');
    const wrong = join(dir(), 'snap-00000000000000000011.snap');
    await rename(join(dir(), 'snap-00000000000000000010.snap'), wrong);
    expect(await failure(FileSnapshotStore.open(dir()))).toMatchObject({ code: 'RaftStorageCorrupt', file: wrong });
  });
});
