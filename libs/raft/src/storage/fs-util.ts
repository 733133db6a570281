import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ioError } from './storage-errors';

/** Suffix of files being written before their atomic rename; such files are garbage after a crash. */
export const TEMP_SUFFIX = '.tmp';

/** True when `e` is a Node.js error with the given `code` (e.g. `ENOENT`). */
export function hasErrno(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

/**
 * Fsyncs a directory so that creations, renames and deletions of its entries survive a crash (Linux and
 * macOS; a no-op where directories cannot be opened, e.g. Windows).
 */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
  } catch (e) {
    if (hasErrno(e, 'EISDIR') || hasErrno(e, 'EPERM')) return;
    throw ioError('open directory', dir, e);
  }
  try {
    await fh.sync();
  } catch (e) {
    if (!hasErrno(e, 'EINVAL')) throw ioError('fsync directory', dir, e);
  } finally {
    await fh.close();
  }
}

/**
 * Replaces `file` atomically with `chunks`: writes `file.tmp`, fsyncs it, renames it over `file`, fsyncs the
 * directory. After a crash `file` holds either the old or the new content, never a mix; a leftover
 * `file.tmp` is garbage for the owner to delete. Errors are `RaftStorageIo`.
 */
export async function writeFileAtomic(dir: string, file: string, chunks: readonly Uint8Array[]): Promise<void> {
  const tmp = file + TEMP_SUFFIX;
  let fh;
  try {
    fh = await open(tmp, 'w');
  } catch (e) {
    throw ioError('create', tmp, e);
  }
  try {
    let pos = 0;
    for (const c of chunks) {
      let done = 0;
      while (done < c.byteLength) {
        const { bytesWritten } = await fh.write(c, done, c.byteLength - done, pos + done);
        done += bytesWritten;
      }
      pos += c.byteLength;
    }
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw ioError('write', tmp, e);
  }
  try {
    await fh.close();
    await rename(tmp, file);
  } catch (e) {
    throw ioError('rename', tmp, e);
  }
  await fsyncDir(dir);
}

/** Deletes `file`; a missing file is not an error. Other failures are `RaftStorageIo`. */
export async function unlinkIfExists(file: string): Promise<boolean> {
  try {
    await unlink(file);
    return true;
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) return false;
    throw ioError('delete', file, e);
  }
}

/**
 * Creates `dir` and any missing parents, then fsyncs the parent of each directory created so that the new
 * entries survive a crash. Errors are `RaftStorageIo`.
 */
export async function mkdirDurable(dir: string): Promise<void> {
  let created: string | undefined;
  try {
    created = await mkdir(dir, { recursive: true });
  } catch (e) {
    throw ioError('create directory', dir, e);
  }
  if (created === undefined) return;
  for (let p = dir; ; p = dirname(p)) {
    await fsyncDir(dirname(p));
    if (p === created || dirname(p) === p) break;
  }
}
