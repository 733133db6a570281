/**
 * The push benchmark (not a test): sofareg against etcd, side by side in one invocation, on loopback.
 *
 *   npm run bench:push [-- --subs 1000,10000 --conns 10,50 --rounds 40 --gap-ms 100 --workers 2
 *                          --registrations 20000 --inflight 256 --reg-conns 16 --reg-repeats 5]
 *                          [--etcd on|off] [--profile-dir DIR] [--metrics-dir DIR]
 *
 * Measures, for both systems with the same load shape:
 * - fan-out: publish (sofareg: a republish; etcd: a put) → the last of N subscribers (etcd: watchers) has
 *   seen it, with N subscribers over C client connections (sofareg's split over two sessions), split over
 *   `--workers` client processes. Rounds alternate between the two systems, each after the same idle gap;
 *   p50 and p99 are over the rounds.
 * - registrations acknowledged per second: sofareg publishers registered end to end (client → session → data
 *   leader, replicated), against etcd lease-grant + put, with the same number in flight over the same number
 *   of connections; the median of `--reg-repeats` runs after one unmeasured warm-up run of the same size
 *   each. CPU per registration is reported for the clients and for each server role (from /proc).
 * Every grpc-js client has its own subchannel pool (its own TCP connection); client CPU is reported.
 * `--etcd off` runs sofareg's registrations alone (for profiling with `--profile-dir`); the figures to report
 * always come with etcd beside them.
 * Ends with one line per measure: sofareg's figure, etcd's, and the ratio.
 */
import { ChildProcess, fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RegistryClient } from '@sofareg/client';
import { LocalCluster, WORKSPACE_ROOT } from '@sofareg/testing';
import { Etcd3 } from 'etcd3';
import type { FromWorker, ToWorker } from './bench-worker';
import { Measure, Progress, fmt, percentile, processCpuMs, resultLines, wallNow } from './bench-util';
import { EtcdServer } from './etcd-server';

interface Options {
  subs: number[];
  conns: number[];
  rounds: number;
  gapMs: number;
  workers: number;
  registrations: number;
  inflight: number;
  regConns: number;
  regRepeats: number;
  /** When set, every sofareg server process writes a CPU profile here (node --cpu-prof). */
  profileDir?: string;
  /** When set, every sofareg server's /metrics text is written here at the end (role-port.prom). */
  metricsDir?: string;
  /** false: sofareg alone, no ratio (for profiling runs; the figures to report always come with etcd). */
  etcd: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    subs: [1_000, 10_000],
    conns: [10, 50],
    rounds: 40,
    gapMs: 100,
    workers: 2,
    registrations: 20_000,
    inflight: 256,
    regConns: 16,
    regRepeats: 5,
    etcd: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=');
    const value = inline ?? argv[++i];
    const list = () => (value === 'none' ? [] : value.split(',').map((x) => Number(x.trim())));
    switch (flag) {
      case '--subs':
        o.subs = list();
        break;
      case '--conns':
        o.conns = list();
        break;
      case '--rounds':
        o.rounds = Number(value);
        break;
      case '--gap-ms':
        o.gapMs = Number(value);
        break;
      case '--workers':
        o.workers = Number(value);
        break;
      case '--registrations':
        o.registrations = Number(value);
        break;
      case '--inflight':
        o.inflight = Number(value);
        break;
      case '--reg-conns':
        o.regConns = Number(value);
        break;
      case '--reg-repeats':
        o.regRepeats = Number(value);
        break;
      case '--profile-dir':
        o.profileDir = value;
        break;
      case '--metrics-dir':
        o.metricsDir = value;
        break;
      case '--etcd':
        o.etcd = value !== 'off';
        break;
      case '--help':
        console.log(
          'usage: bench-push.ts [--subs 1000,10000|none] [--conns 10,50|none] [--profile-dir DIR] [--metrics-dir DIR] [--etcd on|off] [--rounds 40] [--gap-ms 100] [--workers 2] [--registrations 20000] [--inflight 256] [--reg-conns 16] [--reg-repeats 5]',
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown flag ${flag} (see --help)`);
    }
  }
  if (o.subs.length !== o.conns.length) throw new Error('--subs and --conns need as many entries');
  if (!o.etcd && o.subs.length > 0) throw new Error('--etcd off runs registrations only: add --subs none --conns none');
  return o;
}

/** A worker process and its messages. */
class Worker {
  private readonly child: ChildProcess;
  private readonly inbox: FromWorker[] = [];
  private wake: (() => void) | undefined;
  onProgress: (done: number) => void = () => undefined;

  constructor(readonly name: string) {
    this.child = fork(
      path.join(WORKSPACE_ROOT, 'tools/scripts/run-ts.cjs'),
      [path.join(WORKSPACE_ROOT, 'tools/bench/push/bench-worker.ts')],
      {
        cwd: WORKSPACE_ROOT,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    this.child.on('message', (m: FromWorker) => {
      if (m.type === 'progress') return this.onProgress(m.done);
      this.inbox.push(m);
      this.wake?.();
    });
    this.child.on('exit', (code) => {
      this.inbox.push({ type: 'error', message: `worker ${name} exited with ${code}` });
      this.wake?.();
    });
  }

  send(m: ToWorker): void {
    this.child.send(m);
  }

  /** The next message of `type` (rounds: of that round), failing on a worker error or after `timeoutMs`. */
  async next<T extends FromWorker['type']>(
    type: T,
    timeoutMs: number,
    match?: (m: Extract<FromWorker, { type: T }>) => boolean,
  ): Promise<Extract<FromWorker, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const err = this.inbox.find((m) => m.type === 'error');
      if (err && err.type === 'error') throw new Error(`${this.name}: ${err.message}`);
      const i = this.inbox.findIndex(
        (m) => m.type === type && (!match || match(m as Extract<FromWorker, { type: T }>)),
      );
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Extract<FromWorker, { type: T }>;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no ${type} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1_000));
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  async cpuMs(): Promise<number> {
    this.send({ type: 'cpu' });
    return (await this.next('cpu', 10_000)).ms;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.send({ type: 'close' });
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Splits `total` into `parts` near-equal integers. */
function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

interface System {
  name: 'sofareg' | 'etcd';
  targets: string[];
  publish(round: number): Promise<void> | void;
}

async function loadSubscribers(
  system: System,
  total: number,
  conns: number,
  workers: number,
  key: string,
): Promise<Worker[]> {
  const connsPer = split(conns, workers).filter((c) => c > 0);
  const perConn = Math.ceil(total / conns);
  const ws = connsPer.map((_, i) => new Worker(`${system.name}-subs-${i}`));
  const progress = new Progress(
    `${system.name}: ${total.toLocaleString('en-US')} subscribers over ${conns} connections`,
    perConn * conns,
  );
  const done = new Array<number>(ws.length).fill(0);
  ws.forEach((w, i) => {
    w.onProgress = (n) => {
      done[i] = n;
      progress.update(done.reduce((a, b) => a + b, 0));
    };
    w.send({ type: 'subs', system: system.name, targets: system.targets, conns: connsPer[i], perConn, key });
  });
  await Promise.all(ws.map((w) => w.next('loaded', 300_000)));
  progress.update(perConn * conns);
  return ws;
}

async function fanOut(
  systems: System[],
  total: number,
  conns: number,
  o: Options,
): Promise<Map<string, { samples: number[]; clientCpuMs: number }>> {
  const workers = new Map<string, Worker[]>();
  const out = new Map<string, { samples: number[]; clientCpuMs: number }>();
  try {
    for (const s of systems)
      workers.set(
        s.name,
        await loadSubscribers(
          s,
          total,
          conns,
          o.workers,
          s.name === 'sofareg' ? `bench.push.${total}` : `bench/push/${total}`,
        ),
      );
    // Round 0 checks that every subscriber is live; then alternate systems, each after the same idle gap.
    const roundTrip = async (s: System, round: number): Promise<number> => {
      const ws = workers.get(s.name)!;
      await sleep(o.gapMs);
      const t0 = wallNow();
      await s.publish(round);
      const ends = await Promise.all(ws.map((w) => w.next('round', 30_000, (m) => m.round === round)));
      return Math.max(...ends.map((e) => e.at)) - t0;
    };
    for (const s of systems) {
      await roundTrip(s, 0);
      await Promise.all(workers.get(s.name)!.map((w) => w.cpuMs()));
      out.set(s.name, { samples: [], clientCpuMs: 0 });
    }
    const progress = new Progress(`rounds (${total.toLocaleString('en-US')} subscribers)`, o.rounds);
    for (let r = 1; r <= o.rounds; r++) {
      for (const s of systems) out.get(s.name)!.samples.push(await roundTrip(s, r));
      progress.update(r);
    }
    for (const s of systems)
      out.get(s.name)!.clientCpuMs = (await Promise.all(workers.get(s.name)!.map((w) => w.cpuMs()))).reduce(
        (a, b) => a + b,
        0,
      );
  } finally {
    await Promise.all([...workers.values()].flat().map((w) => w.close()));
  }
  return out;
}

/** A server process whose CPU is accounted during the registration runs. */
interface ServerProcess {
  role: string;
  pid: number | undefined;
}

async function registrations(
  system: 'sofareg' | 'etcd',
  targets: string[],
  servers: ServerProcess[],
  o: Options,
): Promise<{ rates: number[]; failed: number; clientCpuMs: number; serverCpuMs: Map<string, number> }> {
  const connsPer = split(o.regConns, o.workers).filter((c) => c > 0);
  const ws = connsPer.map((_, i) => new Worker(`${system}-reg-${i}`));
  const rates: number[] = [];
  let failed = 0;
  let clientCpuMs = 0;
  const serverCpuMs = new Map<string, number>();
  try {
    ws.forEach((w, i) => w.send({ type: 'reg', system, targets, conns: connsPer[i] }));
    await Promise.all(ws.map((w) => w.next('loaded', 60_000)));
    const counts = split(o.registrations, ws.length);
    const inflight = split(o.inflight, ws.length);
    const progress = new Progress(
      `${system}: ${o.registrations.toLocaleString('en-US')} registrations × ${o.regRepeats}`,
      o.regRepeats,
    );
    // A full-size warm-up run, not measured (JIT tiers, connection and lease caches), the same for both systems.
    const warm = split(o.registrations, ws.length);
    ws.forEach((w, i) =>
      w.send({
        type: 'register',
        count: warm[i],
        inflight: Math.max(1, inflight[i]),
        prefix: `bench.warm.${system}`,
        offset: i * warm[0],
      }),
    );
    await Promise.all(ws.map((w) => w.next('registered', 300_000)));
    await sleep(o.gapMs);
    await Promise.all(ws.map((w) => w.cpuMs()));
    const serverMark = servers.map((p) => processCpuMs(p.pid));
    for (let rep = 0; rep < o.regRepeats; rep++) {
      let offset = rep * o.registrations;
      ws.forEach((w, i) => {
        w.send({
          type: 'register',
          count: counts[i],
          inflight: Math.max(1, inflight[i]),
          prefix: `bench.reg.${system}.${rep}`,
          offset,
        });
        offset += counts[i];
      });
      const done = await Promise.all(ws.map((w) => w.next('registered', 300_000)));
      failed += done.reduce((a, d) => a + d.failed, 0);
      const span = Math.max(...done.map((d) => d.endedAt)) - Math.min(...done.map((d) => d.startedAt));
      rates.push((o.registrations / span) * 1_000);
      progress.update(rep + 1);
      await sleep(o.gapMs);
    }
    clientCpuMs = (await Promise.all(ws.map((w) => w.cpuMs()))).reduce((a, b) => a + b, 0);
    servers.forEach((p, i) =>
      serverCpuMs.set(p.role, (serverCpuMs.get(p.role) ?? 0) + processCpuMs(p.pid) - serverMark[i]),
    );
  } finally {
    await Promise.all(ws.map((w) => w.close()));
  }
  return { rates, failed, clientCpuMs, serverCpuMs };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sofareg-bench-push-'));
  console.log(
    `push benchmark: ${os.cpus().length} cpus, node ${process.version}, fan-out ${o.subs.map((s, i) => `${s}/${o.conns[i]} conns`).join(', ')}, ${o.rounds} rounds, ${o.gapMs} ms gap, ${o.workers} client processes; registrations ${o.registrations} × ${o.regRepeats} at ${o.inflight} in flight over ${o.regConns} connections`,
  );
  console.error('  starting sofareg (1 meta, 2 data, 2 sessions) and etcd (1 member)...');
  let cluster: LocalCluster | undefined;
  let etcd: EtcdServer | undefined;
  let publisher: RegistryClient | undefined;
  let etcdClient: Etcd3 | undefined;
  const measures: Measure[] = [];
  let ok = false;
  try {
    cluster = await LocalCluster.start({
      dataServers: 2,
      sessions: 2,
      baseDir: path.join(baseDir, 'cluster'),
      env: {
        SOFAREG_LOG_LEVEL: 'warn',
        ...(o.profileDir
          ? {
              NODE_OPTIONS: `--require ${path.join(WORKSPACE_ROOT, 'tools/bench/push/cpu-profile-hook.cjs')}`,
              CPUPROFILE_DIR: path.resolve(o.profileDir),
            }
          : {}),
      },
    });
    etcd = o.etcd ? await EtcdServer.start(baseDir) : undefined;
    publisher = new RegistryClient({ sessionServers: [cluster.sessionAddresses[0]], appName: 'bench-pub' });
    await publisher.ready({ timeoutMs: 30_000 });
    if (etcd) {
      etcdClient = new Etcd3({ hosts: etcd.clientUrl, grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } });
      await etcdClient.get('warmup').string();
    }

    for (let i = 0; i < o.subs.length && etcd && etcdClient; i++) {
      const total = o.subs[i];
      const conns = o.conns[i];
      const pub = publisher.publish({ dataId: `bench.push.${total}` }, 'v0');
      await pub.synced();
      const etcdKey = `bench/push/${total}`;
      await etcdClient.put(etcdKey).value('v0');
      const systems: System[] = [
        {
          name: 'sofareg',
          targets: cluster.sessionAddresses,
          publish: (r) => (r === 0 ? undefined : pub.republish(`v${r}`)),
        },
        {
          name: 'etcd',
          targets: [etcd.clientUrl],
          publish: async (r) => void (await etcdClient?.put(etcdKey).value(`v${r}`)),
        },
      ];
      const res = await fanOut(systems, total, conns, o);
      await pub.unregister();
      const s = res.get('sofareg')!;
      const e = res.get('etcd')!;
      const label = `publish→last of ${total.toLocaleString('en-US')} subs (${conns} conns)`;
      console.log(
        `fan-out ${total} over ${conns} connections: sofareg p50 ${fmt(percentile(s.samples, 50))} ms p99 ${fmt(percentile(s.samples, 99))} ms (client CPU ${fmt(s.clientCpuMs)} ms); etcd p50 ${fmt(percentile(e.samples, 50))} ms p99 ${fmt(percentile(e.samples, 99))} ms (client CPU ${fmt(e.clientCpuMs)} ms)`,
      );
      measures.push({
        name: `${label} p50`,
        unit: 'ms',
        sofareg: percentile(s.samples, 50),
        etcd: percentile(e.samples, 50),
        higherIsBetter: false,
      });
      measures.push({
        name: `${label} p99`,
        unit: 'ms',
        sofareg: percentile(s.samples, 99),
        etcd: percentile(e.samples, 99),
        higherIsBetter: false,
      });
    }

    if (o.registrations > 0) {
      const sofaregServers = [
        ...cluster.metas.map((n) => ({ role: 'meta', pid: n.process.pid })),
        ...cluster.data.map((n) => ({ role: 'data', pid: n.process.pid })),
        ...cluster.sessions.map((n) => ({ role: 'session', pid: n.process.pid })),
      ];
      const s = await registrations('sofareg', cluster.sessionAddresses, sofaregServers, o);
      const measured = o.registrations * o.regRepeats;
      const perReg = (ms: number) => `${fmt((ms * 1_000) / measured)} µs`;
      const cpu = (r: { clientCpuMs: number; serverCpuMs: Map<string, number> }) =>
        [`client ${perReg(r.clientCpuMs)}`, ...[...r.serverCpuMs].map(([role, ms]) => `${role} ${perReg(ms)}`)].join(
          ', ',
        );
      console.log(
        `registrations: sofareg ${s.rates.map((r) => fmt(r)).join(', ')} /s (failed ${s.failed}); CPU per registration (a role's processes together): ${cpu(s)}`,
      );
      if (etcd) {
        const e = await registrations('etcd', [etcd.clientUrl], [{ role: 'etcd', pid: etcd.pid }], o);
        console.log(
          `registrations: etcd lease+put ${e.rates.map((r) => fmt(r)).join(', ')} /s (failed ${e.failed}); CPU per registration: ${cpu(e)}`,
        );
        measures.push({
          name: `registrations acknowledged/s (${o.inflight} in flight)`,
          unit: '/s',
          sofareg: percentile(s.rates, 50),
          etcd: percentile(e.rates, 50),
          higherIsBetter: true,
        });
      }
    }
    if (o.metricsDir) {
      fs.mkdirSync(o.metricsDir, { recursive: true });
      for (const n of [...cluster.metas, ...cluster.data, ...cluster.sessions]) {
        const res = await fetch(`http://127.0.0.1:${n.httpPort}/metrics`);
        fs.writeFileSync(path.join(o.metricsDir, `${n.process.opts.role}-${n.port}.prom`), await res.text());
      }
    }
    ok = true;
  } finally {
    await publisher?.close();
    etcdClient?.close();
    await etcd?.stop();
    await cluster?.stop(!ok);
    if (ok) fs.rmSync(baseDir, { recursive: true, force: true });
    else console.error(`logs kept in ${baseDir}`);
  }
  console.log('');
  for (const line of resultLines(measures)) console.log(line);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? String(err));
    process.exit(1);
  },
);
