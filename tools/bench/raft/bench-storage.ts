// Measures the durable log on this machine: appends/s and fsyncs/s at batch sizes 1, 16 and 256 entries of
// 100 bytes (one append call at a time), group commit under concurrent writers, reads, and hard state saves.
// Not a test. Run: npm run bench:raft-storage -- [--seconds=2] [--runs=3]
import { mkdtemp, open, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Entry, EntryType, FileLogStore, FileStableStore, WAL_RECORD_OVERHEAD } from '@sofareg/raft';

const arg = (name: string, def: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : def;
};
const SECONDS = arg('seconds', 2);
const RUNS = arg('runs', 3);
const ENTRY_BYTES = 100;

interface Result {
  calls: number;
  entries: number;
  fsyncs: number;
  seconds: number;
}

function entries(from: number, n: number): Entry[] {
  const out: Entry[] = [];
  for (let k = 0; k < n; k++)
    out.push({ index: from + k, term: 1, type: EntryType.Normal, data: new Uint8Array(ENTRY_BYTES).fill(k & 0xff) });
  return out;
}

async function withLog<T>(f: (log: FileLogStore) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'raft-bench-'));
  const log = await FileLogStore.open(dir);
  try {
    return await f(log);
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** One append call of `batch` entries at a time, for SECONDS. */
function sequential(batch: number): Promise<Result> {
  return withLog(async (log) => {
    const f0 = log.stats().fsyncs;
    const t0 = performance.now();
    let next = 1;
    let calls = 0;
    while (performance.now() - t0 < SECONDS * 1000) {
      await log.append(entries(next, batch));
      next += batch;
      calls++;
    }
    const seconds = (performance.now() - t0) / 1000;
    return { calls, entries: next - 1, fsyncs: log.stats().fsyncs - f0, seconds };
  });
}

/** `writers` concurrent writers, each appending one entry and waiting for it, for SECONDS. */
function concurrent(writers: number): Promise<Result> {
  return withLog(async (log) => {
    const f0 = log.stats().fsyncs;
    const t0 = performance.now();
    let next = 1;
    let calls = 0;
    const writer = async () => {
      while (performance.now() - t0 < SECONDS * 1000) {
        const i = next++;
        await log.append(entries(i, 1));
        calls++;
      }
    };
    await Promise.all(Array.from({ length: writers }, writer));
    const seconds = (performance.now() - t0) / 1000;
    return { calls, entries: next - 1, fsyncs: log.stats().fsyncs - f0, seconds };
  });
}

/** Reads back 100,000 entries in pages of 1 MiB. */
function reads(): Promise<Result> {
  return withLog(async (log) => {
    const total = 100_000;
    for (let i = 1; i <= total; i += 1000) await log.append(entries(i, 1000));
    const t0 = performance.now();
    let got = 0;
    let calls = 0;
    while (got < total) {
      got += (await log.entries(got + 1, total + 1, 1024 * 1024)).length;
      calls++;
    }
    return { calls, entries: got, fsyncs: 0, seconds: (performance.now() - t0) / 1000 };
  });
}

/** The device alone: write `bytes` at the end of a file and fdatasync, one at a time, for SECONDS. */
async function rawDatasync(bytes: number): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), 'raft-bench-'));
  const fh = await open(join(dir, 'raw'), 'w');
  try {
    const buf = Buffer.alloc(bytes, 1);
    const t0 = performance.now();
    let calls = 0;
    while (performance.now() - t0 < SECONDS * 1000) {
      await fh.write(buf, 0, bytes, calls * bytes);
      await fh.datasync();
      calls++;
    }
    return { calls, entries: 0, fsyncs: calls, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await fh.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sequential hard state saves (each: write temp, fsync, rename, fsync dir). */
async function hardStateSaves(): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), 'raft-bench-'));
  const st = await FileStableStore.open(dir);
  try {
    const t0 = performance.now();
    let calls = 0;
    while (performance.now() - t0 < SECONDS * 1000) await st.save({ term: 1, vote: 'n1', commit: ++calls });
    return { calls, entries: 0, fsyncs: st.fsyncs(), seconds: (performance.now() - t0) / 1000 };
  } finally {
    await st.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function median(run: () => Promise<Result>): Promise<Result> {
  const rs: Result[] = [];
  for (let k = 0; k < RUNS; k++) rs.push(await run());
  rs.sort((a, b) => a.entries / a.seconds - b.entries / b.seconds || a.calls / a.seconds - b.calls / b.seconds);
  return rs[Math.floor(rs.length / 2)];
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

async function main(): Promise<void> {
  console.log(
    `load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} on ${cpus().length} cores`,
  );
  console.log(
    `raft storage bench: ${ENTRY_BYTES}-byte entries, ${SECONDS}s per run, median of ${RUNS} runs, temp dir in ${tmpdir()}`,
  );
  console.log('case                          | append calls/s | entries/s  | fsyncs/s | entries per fsync | MB/s');
  const row = (name: string, r: Result) =>
    console.log(
      `${name.padEnd(29)} | ${fmt(r.calls / r.seconds).padStart(14)} | ${fmt(r.entries / r.seconds).padStart(10)} | ${fmt(r.fsyncs / r.seconds).padStart(8)} | ${(r.fsyncs ? r.entries / r.fsyncs : 0).toFixed(1).padStart(17)} | ${((r.entries * ENTRY_BYTES) / r.seconds / 1e6).toFixed(1)}`,
    );
  for (const batch of [1, 16, 256]) row(`sequential, batch ${batch}`, await median(() => sequential(batch)));
  for (const writers of [16, 256]) row(`${writers} concurrent writers x 1`, await median(() => concurrent(writers)));
  row('read 100k entries, 1 MiB pages', await median(reads));
  for (const n of [1, 256]) {
    const r = await median(() => rawDatasync(n * (ENTRY_BYTES + WAL_RECORD_OVERHEAD)));
    console.log(
      `baseline: raw write of ${n * (ENTRY_BYTES + WAL_RECORD_OVERHEAD)} bytes + fdatasync: ${fmt(r.calls / r.seconds)}/s`,
    );
  }
  const hs = await median(hardStateSaves);
  console.log(`hard state saves: ${fmt(hs.calls / hs.seconds)}/s (${fmt(hs.fsyncs / hs.seconds)} fsyncs/s)`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
