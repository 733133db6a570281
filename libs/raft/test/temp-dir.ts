import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Entry, EntryType } from '../src/core/types';

/**
 * A fresh temporary directory per test, removed after it even when it fails. Things registered with
 * `track` are closed first.
 */
export function useTempDir(prefix = 'raft-storage-'): {
  dir(): string;
  track<T extends { close(): Promise<void> }>(c: T): T;
} {
  let current: string | undefined;
  let closables: { close(): Promise<void> }[] = [];
  beforeEach(async () => {
    current = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    const toClose = closables;
    closables = [];
    await Promise.allSettled(toClose.map((c) => c.close()));
    if (current) await rm(current, { recursive: true, force: true });
    current = undefined;
  });
  return {
    dir: () => {
      if (!current) throw new Error('no temp dir outside a test');
      return current;
    },
    track: (c) => {
      closables.push(c);
      return c;
    },
  };
}

/** Entries `from..to` of term `term`, each with `size` bytes of data derived from its index and term. */
export function makeEntries(from: number, to: number, term: number, size = 8): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) {
    const data = new Uint8Array(size);
    for (let k = 0; k < size; k++) data[k] = (i * 31 + term * 7 + k) & 0xff;
    out.push({ index: i, term, type: i % 5 === 0 ? EntryType.ConfChange : EntryType.Normal, data });
  }
  return out;
}

/** Entries as plain comparable values. */
export function plain(es: readonly Entry[]): { index: number; term: number; type: number; data: number[] }[] {
  return es.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Array.from(e.data) }));
}
