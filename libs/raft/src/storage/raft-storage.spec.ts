import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { LOCK_FILE } from './dir-lock';
import { FileLogStore } from './file-log-store';
import { createMemoryRaftStorage, openRaftStorage } from './raft-storage';
import { RaftStorageError } from './storage-errors';
import { makeEntries, plain, useTempDir } from '../../test/temp-dir';

const tmp = useTempDir('raft-node-');
const workspace = resolve(__dirname, '../../../..');

async function openFails(dir: string): Promise<RaftStorageError> {
  const e = await openRaftStorage(dir).then(
    (s) => {
      tmp.track(s);
      return undefined;
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RaftStorageError);
  return e as RaftStorageError;
}

/** A child process running test/lock-holder.ts on `dir`; resolves with its first stdout line. */
function startHolder(dir: string): { child: ChildProcess; line: Promise<string> } {
  const runTs = join(workspace, 'tools/scripts/run-ts.cjs');
  const child = spawn(process.execPath, [runTs, join(__dirname, '../../test/lock-holder.ts'), dir], {
    cwd: workspace,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  tmp.track({
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
    },
  });
  const line = new Promise<string>((resolveLine, reject) => {
    let out = '';
    const deadline = setTimeout(() => reject(new Error(`lock holder printed nothing within 15 s: '${out}'`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(deadline);
        resolveLine(out.slice(0, nl));
      }
    });
    child.once('exit', () => {
      clearTimeout(deadline);
      reject(new Error(`lock holder exited: '${out}'`));
    });
  });
  line.catch(() => undefined);
  return { child, line };
}

describe('openRaftStorage', () => {
  it('lays out lock, log, hard state and snapshots in one directory, and restores them all', async () => {
    const dir = tmp.dir();
    let s = tmp.track(await openRaftStorage(dir, { log: { segmentBytes: 4096 } }));
    await s.log.append(makeEntries(1, 60, 1, 100));
    await s.stable.save({ term: 1, vote: 'n1', commit: 50 });
    await s.snapshots.save({
      meta: { index: 40, term: 1, conf: { voters: ['n1', 'n2', 'n3'], learners: [] } },
      data: new Uint8Array([1, 2, 3]),
    });
    await s.log.compact(40);
    expect((await readdir(dir)).sort()).toEqual([LOCK_FILE, 'hardstate', 'snapshots', 'wal']);
    await s.close();
    expect((await readdir(dir)).sort()).toEqual(['hardstate', 'snapshots', 'wal']);

    s = tmp.track(await openRaftStorage(dir, { log: { segmentBytes: 4096 } }));
    expect(s.stable.hardState()).toEqual({ term: 1, vote: 'n1', commit: 50 });
    expect(s.snapshots.latestMeta()?.index).toBe(40);
    expect(Array.from((await s.snapshots.latest())?.data ?? [])).toEqual([1, 2, 3]);
    expect([s.log.firstIndex(), s.log.lastIndex(), s.log.term(40)]).toEqual([41, 60, 1]);
    expect(plain(await s.log.entries(41, 61))).toEqual(plain(makeEntries(41, 60, 1, 100)));
    expect(s.recovery.tornTail).toBeUndefined();
  });

  it('refuses a second open of the same directory in this process until the first is closed', async () => {
    const dir = tmp.dir();
    const first = tmp.track(await openRaftStorage(dir));
    const e = await openFails(dir);
    expect(e.code).toBe('RaftStorageLocked');
    expect(e.file).toBe(join(dir, LOCK_FILE));
    expect(e.message).toContain(`process ${process.pid}`);
    expect(e.message).toContain('this process');
    await first.close();
    const second = tmp.track(await openRaftStorage(dir));
    await second.close();
  });

  it('refuses a directory held by another live process, and takes the lock over once it is killed', async () => {
    const dir = tmp.dir();
    const { child, line } = startHolder(dir);
    expect(await line).toBe(`opened ${child.pid}`);
    const e = await openFails(dir);
    expect(e.code).toBe('RaftStorageLocked');
    expect(e.message).toContain(`process ${child.pid}`);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(child.pid); // left behind by the crash
    const s = tmp.track(await openRaftStorage(dir));
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await s.close();
  }, 30_000);

  it('makes another process fail with RaftStorageLocked while this one holds the directory', async () => {
    const dir = tmp.dir();
    tmp.track(await openRaftStorage(dir));
    const { line } = startHolder(dir);
    expect(await line.catch((err: Error) => err.message)).toMatch(/error RaftStorageLocked/);
  }, 30_000);

  it('takes over a stale lock whose process no longer exists', async () => {
    const dir = tmp.dir();
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: 4_000_000, host: hostname(), start: '1' }));
    const s = tmp.track(await openRaftStorage(dir));
    await s.close();
  });

  it('refuses an unreadable lock file rather than guessing', async () => {
    const dir = tmp.dir();
    await writeFile(join(dir, LOCK_FILE), 'garbage');
    const e = await openFails(dir);
    expect(e.code).toBe('RaftStorageLocked');
    expect(e.message).toMatch(/unreadable lock file/);
  });

  it('reports a log compacted past the newest snapshot as corruption, and releases the lock', async () => {
    const dir = tmp.dir();
    const log = await FileLogStore.open(join(dir, 'wal'));
    await log.append(makeEntries(1, 10, 1));
    await log.compact(5); // no snapshot was saved first
    await log.close();
    const e = await openFails(dir);
    expect(e.code).toBe('RaftStorageCorrupt');
    expect(e.message).toMatch(/newest snapshot is at 0/);
    expect(await readdir(dir)).not.toContain(LOCK_FILE);
  });
});

describe('createMemoryRaftStorage', () => {
  it('offers the three in-memory twins behind the same interface', async () => {
    const s = createMemoryRaftStorage();
    await s.log.append(makeEntries(1, 3, 1));
    await s.stable.save({ term: 1, vote: '', commit: 3 });
    await s.snapshots.save({
      meta: { index: 3, term: 1, conf: { voters: ['a'], learners: [] } },
      data: new Uint8Array(1),
    });
    await s.log.compact(3);
    expect([s.log.firstIndex(), s.stable.hardState().commit, s.snapshots.latestMeta()?.index]).toEqual([4, 3, 3]);
    await s.close();
    await expect(s.log.append(makeEntries(4, 4, 1))).rejects.toMatchObject({ code: 'RaftStorageClosed' });
  });
});
