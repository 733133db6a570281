/**
 * `npm run bench:raft`: committed writes per second and commit latency of a three-node sofareg Raft group
 * (libs/raft kv-server processes: file storage with real fsync, gRPC transport) against a three-member etcd
 * (Debian's etcd-server, driven by the `etcd3` npm client), side by side in one invocation, on loopback.
 *
 * For each number of concurrent proposers (default 1, 16, 256), each run (default 3) measures both systems in
 * turn for a few seconds: every proposer puts a fresh key (a 64-byte value) and waits for the answer before
 * the next; both clients talk to the leader only, over one gRPC channel each, with the same grpc-js options
 * (no retries, no channelz). Reported: the median over runs
 * of writes/s, p50 and p99 latency (hdr-histogram), and CPU used by the client and by the three servers.
 *
 * Our side is measured twice by default: `raft` sends the puts over one PutStream call (requests multiplexed
 * on one HTTP/2 stream), `raft-unary` makes one unary call per put as the etcd3 client does (on 2 cores,
 * grpc-js's per-call cost on both ends is a large part of a put).
 *
 *   npm run bench:raft -- [--runs 3] [--seconds 3] [--concurrency 1,16,256] [--value-bytes 64]
 *                         [--raft-api stream|unary|both] [--raft-only] [--keep-logs] [--strict-ready-order]
 */
import { Etcd3 } from 'etcd3';
import * as hdr from 'hdr-histogram-js';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, waitFor } from '@sofareg/testing';
import { KV_CLIENT_OPTIONS, KvCluster, type KvProcess } from '../../../libs/raft/test/kv-cluster';

interface Target {
  name: string;
  put(key: string, value: string): Promise<void>;
  serverPids(): number[];
}

interface Sample {
  writesPerSec: number;
  p50: number;
  p99: number;
  clientCpu: number;
  serverCpu: number;
  errors: number;
}

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1,16,256' },
    'value-bytes': { type: 'string', default: '64' },
    'raft-only': { type: 'boolean', default: false },
    'raft-api': { type: 'string', default: 'both' },
    'keep-logs': { type: 'boolean', default: false },
    'strict-ready-order': { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);
const CONCURRENCY = args.concurrency.split(',').map(Number);
const VALUE = 'x'.repeat(Number(args['value-bytes']));
const IDLE_GAP_MS = 300;

const say = (s: string) => process.stdout.write(`${s}\n`);
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system) used so far by the given processes, from /proc. */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // process gone
    }
  }
  return ticks / 100;
}

function etcdBinary(): string | undefined {
  try {
    return execFileSync('which', ['etcd'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A three-member etcd on free loopback ports with its data in `root`. */
class EtcdCluster {
  readonly procs: ChildProcess[] = [];
  clientUrls: string[] = [];

  constructor(private readonly root: string) {}

  async start(bin: string): Promise<void> {
    const names = ['e1', 'e2', 'e3'];
    const peerUrls = await Promise.all(names.map(async () => `http://127.0.0.1:${await freePort()}`));
    this.clientUrls = await Promise.all(names.map(async () => `http://127.0.0.1:${await freePort()}`));
    const initial = names.map((n, i) => `${n}=${peerUrls[i]}`).join(',');
    names.forEach((name, i) => {
      const log = fs.openSync(path.join(this.root, `${name}.log`), 'a');
      const p = spawn(
        bin,
        [
          '--name',
          name,
          '--data-dir',
          path.join(this.root, name),
          '--listen-client-urls',
          this.clientUrls[i],
          '--advertise-client-urls',
          this.clientUrls[i],
          '--listen-peer-urls',
          peerUrls[i],
          '--initial-advertise-peer-urls',
          peerUrls[i],
          '--initial-cluster',
          initial,
          '--initial-cluster-state',
          'new',
          '--initial-cluster-token',
          'sofareg-bench',
          '--logger',
          'zap',
          '--log-level',
          'warn',
        ],
        { stdio: ['ignore', log, log] },
      );
      fs.closeSync(log);
      this.procs.push(p);
    });
  }

  /** The client URL of the member that leads, once all three answer and agree. */
  async leaderUrl(): Promise<string> {
    return waitFor(
      'etcd to elect a leader',
      async () => {
        const sts = await Promise.all(
          this.clientUrls.map(async (url) => {
            const c = new Etcd3({ hosts: url, dialTimeout: 500 });
            try {
              return await c.maintenance.status();
            } finally {
              c.close();
            }
          }),
        );
        const leader = sts[0].leader;
        if (!leader || leader === '0' || !sts.every((s) => s.leader === leader)) return undefined;
        const i = sts.findIndex((s) => s.header.member_id === leader);
        return i >= 0 ? this.clientUrls[i] : undefined;
      },
      30_000,
      100,
    );
  }

  pids(): number[] {
    return this.procs.map((p) => p.pid).filter((p): p is number => p !== undefined);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGKILL');
          }),
      ),
    );
  }
}

let keySeq = 0;

/** Runs `concurrency` proposers against `t` for `seconds`; returns throughput, latency and CPU. */
async function measure(t: Target, concurrency: number, seconds: number): Promise<Sample> {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let done = 0;
  let errors = 0;
  const cpu0 = process.cpuUsage();
  const srv0 = cpuSeconds(t.serverPids());
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  const run = `${t.name}-${concurrency}-${keySeq++}`;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; process.hrtime.bigint() < end; i++) {
        const s = process.hrtime.bigint();
        try {
          await t.put(`bench/${run}/${w}/${i}`, VALUE);
          h.recordValue(Math.max(1, Number((process.hrtime.bigint() - s) / 1000n)));
          done++;
        } catch {
          errors++;
          if (errors > 1000) throw new Error(`${t.name}: too many failed puts`);
        }
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const sample = {
    writesPerSec: done / elapsed,
    p50: h.getValueAtPercentile(50) / 1000,
    p99: h.getValueAtPercentile(99) / 1000,
    clientCpu: (cpu.user + cpu.system) / 1e6 / elapsed,
    serverCpu: (cpuSeconds(t.serverPids()) - srv0) / elapsed,
    errors,
  };
  h.destroy();
  return sample;
}

/**
 * Our side, pinned to the leader: `raft` puts over one PutStream call (requests multiplexed on one HTTP/2
 * stream), `raft-unary` with one unary Put call per request as etcd's client does.
 */
async function raftTargets(cluster: KvCluster, api: string): Promise<{ leader: KvProcess; targets: Target[] }> {
  let { node } = await cluster.leader();
  const first = node;
  const serverPids = () => cluster.nodes.map((n) => n.pid).filter((p): p is number => p !== undefined);
  // A failed put counts as an error; after a leader change the client follows the new leader.
  const check = (r: { ok: boolean; error?: { code: string; message: string; leaderId: string } }) => {
    if (r.ok) return;
    if (r.error?.code === 'NotLeader' && r.error.leaderId) node = cluster.node(r.error.leaderId);
    throw new Error(`${r.error?.code}: ${r.error?.message}`);
  };
  const targets: Target[] = [];
  if (api === 'stream' || api === 'both') {
    targets.push({ name: 'raft', put: async (k, v) => check(await node.putStreamed(k, v, 10_000)), serverPids });
  }
  if (api === 'unary' || api === 'both') {
    targets.push({ name: 'raft-unary', put: async (k, v) => check(await node.put(k, v, 10_000)), serverPids });
  }
  if (targets.length === 0) throw new Error(`--raft-api must be stream, unary or both, got '${api}'`);
  return { leader: first, targets };
}

async function main(): Promise<void> {
  const bin = etcdBinary();
  if (!bin && !args['raft-only']) {
    say('bench-raft: etcd is not installed, so there is nothing to compare against.');
    say("  Install Debian's etcd server (3.4) with:   apt-get update && apt-get install -y etcd-server");
    say('  or run our side alone with:                npm run bench:raft -- --raft-only');
    process.exit(1);
  }
  const root = fs.mkdtempSync(path.join(tmpdir(), 'bench-raft-'));
  say(
    `bench-raft: three sofareg Raft nodes${bin && !args['raft-only'] ? ` and three etcd members (${bin})` : ''} on loopback, real fsync, data in ${root}`,
  );
  if (args['strict-ready-order']) say('  Raft nodes handle every Ready strictly in order (no pipelining)');
  say(
    `  ${RUNS} runs × ${SECONDS} s per system and concurrency (${CONCURRENCY.join(', ')} proposers), ${VALUE.length}-byte values, medians reported`,
  );

  // No snapshot during the measurement: the test KvStateMachine serializes itself synchronously as JSON, which
  // at a few hundred thousand keys blocks a node longer than an election timeout (a real state machine
  // serializes in slices). The log then stays in memory: a few hundred MB at most for a full run.
  const cluster = await KvCluster.create(
    3,
    { snapshotEntries: 2_000_000, keepEntries: 5_000, strictReadyOrder: args['strict-ready-order'] },
    'bench-raft-nodes-',
  );
  const etcd = bin && !args['raft-only'] ? new EtcdCluster(root) : undefined;
  let etcdClient: Etcd3 | undefined;
  const cleanup = async () => {
    etcdClient?.close();
    await Promise.allSettled([cluster.close(args['keep-logs']), etcd?.stop()]);
    if (!args['keep-logs']) fs.rmSync(root, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    say('starting the Raft nodes ...');
    await cluster.startAll();
    const raft = await raftTargets(cluster, args['raft-api']);
    say(`  raft leader: ${raft.leader.id} (kv ${raft.leader.kvAddress})`);
    const targets: Target[] = [...raft.targets];
    if (etcd && bin) {
      say('starting etcd ...');
      await etcd.start(bin);
      const leaderUrl = await etcd.leaderUrl();
      say(`  etcd leader: ${leaderUrl}`);
      const client = (etcdClient = new Etcd3({ hosts: leaderUrl, grpcOptions: KV_CLIENT_OPTIONS }));
      targets.push({
        name: 'etcd',
        put: async (key, value) => {
          await client.put(key).value(value);
        },
        serverPids: () => etcd.pids(),
      });
    }

    // Node's JIT needs a few thousand calls of each path; etcd gets the same warm-up.
    say('warming up (2 s at 16 in flight, then 1 s at 1 in flight, each system) ...');
    for (const t of targets) {
      await measure(t, 16, 2);
      await measure(t, 1, 1);
    }

    const samples = new Map<string, Sample[]>();
    const total = CONCURRENCY.length * RUNS * targets.length;
    let step = 0;
    for (const c of CONCURRENCY) {
      for (let r = 1; r <= RUNS; r++) {
        for (const t of targets) {
          await sleep(IDLE_GAP_MS);
          const s = await measure(t, c, SECONDS);
          const key = `${t.name}@${c}`;
          samples.set(key, [...(samples.get(key) ?? []), s]);
          step++;
          say(
            `  [${String(step).padStart(2)}/${total}] ${t.name.padEnd(10)} ${String(c).padStart(3)} in flight, run ${r}/${RUNS}: ` +
              `${fmt(s.writesPerSec).padStart(7)} writes/s  p50 ${fmt(s.p50, 2)} ms  p99 ${fmt(s.p99, 2)} ms` +
              `  cpu client ${fmt(s.clientCpu * 100)}% servers ${fmt(s.serverCpu * 100)}%${s.errors ? `  errors ${s.errors}` : ''}`,
          );
        }
      }
    }

    const med = (name: string, c: number) => {
      const ss = samples.get(`${name}@${c}`) ?? [];
      return {
        writesPerSec: median(ss.map((s) => s.writesPerSec)),
        p50: median(ss.map((s) => s.p50)),
        p99: median(ss.map((s) => s.p99)),
        clientCpu: median(ss.map((s) => s.clientCpu)),
        serverCpu: median(ss.map((s) => s.serverCpu)),
      };
    };
    say('');
    say(`medians of ${RUNS} runs × ${SECONDS} s (three members each, client pinned to the leader):`);
    say('  system      in flight   writes/s   p50 ms   p99 ms   client CPU   servers CPU');
    for (const c of CONCURRENCY) {
      for (const t of targets) {
        const m = med(t.name, c);
        say(
          `  ${t.name.padEnd(10)}  ${String(c).padStart(9)}  ${fmt(m.writesPerSec).padStart(9)}  ${fmt(m.p50, 2).padStart(7)}  ${fmt(m.p99, 2).padStart(7)}` +
            `   ${`${fmt(m.clientCpu * 100)}%`.padStart(10)}   ${`${fmt(m.serverCpu * 100)}%`.padStart(11)}`,
        );
      }
    }
    say('  (raft: puts on one gRPC stream; raft-unary: one unary call per put, as the etcd3 client does)');
    const hi = Math.max(...CONCURRENCY);
    const lo = Math.min(...CONCURRENCY);
    const ours = targets[0].name;
    const rHi = med(ours, hi);
    if (targets.some((t) => t.name === 'etcd')) {
      const eHi = med('etcd', hi);
      const rLo = med(ours, lo);
      const eLo = med('etcd', lo);
      const ratio = rHi.writesPerSec / eHi.writesPerSec;
      const p99Ratio = rLo.p99 / eLo.p99;
      const unary =
        targets.some((t) => t.name === 'raft-unary') && ours !== 'raft-unary' ? med('raft-unary', hi) : undefined;
      say(
        `targets (${ours}): writes/s at ${hi} in flight ≥ etcd's: ${ratio >= 1 ? 'met' : 'MISSED'};` +
          ` p99 at ${lo} in flight within 2× etcd's: ${p99Ratio <= 2 ? 'met' : 'MISSED'} (${fmt(p99Ratio, 2)}×)`,
      );
      say(
        `${ours} ${fmt(rHi.writesPerSec)}/s vs etcd ${fmt(eHi.writesPerSec)}/s at ${hi} in flight: ratio ${fmt(ratio, 2)}×` +
          (unary
            ? ` (raft-unary ${fmt(unary.writesPerSec)}/s, ${fmt(unary.writesPerSec / eHi.writesPerSec, 2)}×)`
            : '') +
          `; p99 at ${lo} in flight: ${ours} ${fmt(rLo.p99, 2)} ms vs etcd ${fmt(eLo.p99, 2)} ms`,
      );
    } else {
      say(`${ours} ${fmt(rHi.writesPerSec)}/s at ${hi} in flight (etcd not measured)`);
    }
  } finally {
    await cleanup();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench-raft: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
