import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { hasErrno, unlinkIfExists } from './fs-util';
import { RaftStorageError, ioError } from './storage-errors';

/** Name of the lock file in a storage directory. */
export const LOCK_FILE = 'LOCK';

/** What a lock file says about its holder. */
export interface LockHolder {
  pid: number;
  host: string;
  /** Start time of the process (Linux clock ticks since boot), which tells a reused pid apart. */
  start?: string;
}

let tempCounter = 0;

/**
 * An exclusive lock on a storage directory, held by one process at a time through the file `LOCK`, which
 * names the holder's pid, host and process start time. It is created atomically (written aside, then
 * hard-linked into place, which fails if the file exists).
 *
 * A lock whose holder is gone (a crashed process: no such pid on this host, or the pid now belongs to a
 * process started later) is stale and taken over. A lock held by a live process, by this very process (a
 * second open), or by another host refuses with `RaftStorageLocked`. Two processes that find the same
 * stale lock at the same instant can both take it over; starting one node per directory avoids that.
 */
export class DirLock {
  private released = false;

  private constructor(
    /** The lock file. */
    readonly file: string,
    private readonly me: LockHolder,
  ) {}

  /** Takes the lock on `dir` (which must exist). */
  static async acquire(dir: string): Promise<DirLock> {
    const file = join(dir, LOCK_FILE);
    const me: LockHolder = { pid: process.pid, host: hostname(), start: await processStart(process.pid) };
    const tmp = join(dir, `${LOCK_FILE}.${process.pid}.${++tempCounter}.tmp`);
    try {
      await writeFile(tmp, JSON.stringify(me));
    } catch (e) {
      throw ioError('create lock', tmp, e);
    }
    try {
      let holder: LockHolder | 'gone' | undefined;
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await link(tmp, file);
          return new DirLock(file, me);
        } catch (e) {
          if (!hasErrno(e, 'EEXIST')) throw ioError('create lock', file, e);
        }
        holder = await readHolder(file);
        if (holder === 'gone') continue;
        if (holder === undefined || (await holderAlive(holder))) break;
        await unlinkIfExists(file); // stale: its process is gone
      }
      throw lockedError(file, holder === 'gone' ? undefined : holder);
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /** Removes the lock file if it is still this process's. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const holder = await readHolder(this.file);
    if (
      typeof holder === 'object' &&
      holder.pid === this.me.pid &&
      holder.host === this.me.host &&
      holder.start === this.me.start
    ) {
      await unlinkIfExists(this.file);
    }
  }
}

function lockedError(file: string, holder: LockHolder | undefined): RaftStorageError {
  const who = holder
    ? `process ${holder.pid} on ${holder.host}${holder.pid === process.pid && holder.host === hostname() ? ' (this process)' : ''}`
    : 'an unknown holder (unreadable lock file)';
  return new RaftStorageError(
    'RaftStorageLocked',
    `Raft storage is locked by ${who}: ${file}. Only one node may use a storage directory; stop the other one, ` +
      `or delete the lock file if you are sure no process uses the directory.`,
    { file },
  );
}

/** The holder named by a lock file, 'gone' if the file vanished, undefined if it cannot be parsed. */
async function readHolder(file: string): Promise<LockHolder | 'gone' | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) return 'gone';
    throw ioError('read lock', file, e);
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    if (Number.isSafeInteger(h.pid) && h.pid > 0 && typeof h.host === 'string') return h;
  } catch {
    // fall through
  }
  return undefined;
}

async function holderAlive(h: LockHolder): Promise<boolean> {
  if (h.host !== hostname()) return true; // cannot check another host's processes
  if (h.pid === process.pid) return true;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if (hasErrno(e, 'ESRCH')) return false;
    // EPERM: the process exists but belongs to someone else.
  }
  const start = await processStart(h.pid);
  return h.start === undefined || start === undefined || start === h.start;
}

/** The start time of process `pid` from /proc (Linux), or undefined where unavailable. */
async function processStart(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3; starttime is field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
