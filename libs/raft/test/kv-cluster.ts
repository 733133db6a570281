/**
 * Real processes of the replicated key-value server (kv-server.ts) on free loopback ports, for the
 * real-process tests and the benchmark. Every process started is killed when the parent exits, whatever
 * happened; `KvCluster.close()` kills them and removes the temporary directory.
 */
import * as grpc from '@grpc/grpc-js';
import {
  type RaftKvGetResponse,
  RaftKvClient,
  type RaftKvPutRequest,
  type RaftKvPutResponse,
} from '@sofareg/contracts';
import type { RaftNodeStatus } from '../src';
import { freePort, waitFor } from '@sofareg/testing';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** The workspace root. */
export const ROOT = path.resolve(__dirname, '../../..');
const SERVER = path.join(ROOT, 'libs/raft/test/kv-server.ts');

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** grpc-js options of the kv clients (the benchmark gives etcd's client the same): no retries, no channelz. */
export const KV_CLIENT_OPTIONS: grpc.ChannelOptions = { 'grpc.enable_retries': 0, 'grpc.enable_channelz': 0 };

/** The status JSON a kv server reports. */
export type KvStatus = RaftNodeStatus & { kvApplied: number; kvDigest: string; pid: number };

/** Settings passed to every server of a cluster. */
export interface KvServerSettings {
  tickMs?: number;
  electionTicks?: number;
  snapshotEntries?: number;
  keepEntries?: number;
  /** Handle every Ready strictly in order (RaftNodeOptions.pipelining false). */
  strictReadyOrder?: boolean;
}

/** One kv-server process (it can be killed and started again on the same ports and directory). */
export class KvProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({
    code: null,
    signal: null,
  });
  readonly client: RaftKvClient;
  private stream:
    | {
        call: grpc.ClientDuplexStream<RaftKvPutRequest, RaftKvPutResponse>;
        waiting: Map<number, { resolve(r: RaftKvPutResponse): void; reject(e: unknown): void }>;
        next: number;
      }
    | undefined;
  readonly logFile: string;
  readonly errFile: string;

  constructor(
    readonly id: string,
    readonly raftAddress: string,
    readonly kvAddress: string,
    readonly dataDir: string,
    private readonly peers: string,
    private readonly settings: KvServerSettings,
    logDir: string,
  ) {
    this.logFile = path.join(logDir, `${id}.log`);
    this.errFile = path.join(logDir, `${id}.err`);
    this.client = new RaftKvClient(kvAddress, grpc.credentials.createInsecure(), {
      ...KV_CLIENT_OPTIONS,
      'grpc.initial_reconnect_backoff_ms': 50,
      'grpc.max_reconnect_backoff_ms': 200,
    });
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process (appending to its log files). */
  start(extraArgs: string[] = []): void {
    const s = this.settings;
    // RAFT_KV_NODE_ARGS passes node flags to the servers, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
    const args = [
      ...(process.env.RAFT_KV_NODE_ARGS ?? '').split(' ').filter(Boolean),
      path.join(ROOT, 'tools/scripts/run-ts.cjs'),
      SERVER,
      '--id',
      this.id,
      '--peers',
      this.peers,
      '--kv-port',
      this.kvAddress.split(':')[1],
      '--data-dir',
      this.dataDir,
      ...(s.tickMs ? ['--tick-ms', String(s.tickMs)] : []),
      ...(s.electionTicks ? ['--election-ticks', String(s.electionTicks)] : []),
      ...(s.snapshotEntries !== undefined ? ['--snapshot-entries', String(s.snapshotEntries)] : []),
      ...(s.keepEntries !== undefined ? ['--keep-entries', String(s.keepEntries)] : []),
      ...(s.strictReadyOrder ? ['--strict-ready-order'] : []),
      ...extraArgs,
    ];
    const out = fs.openSync(this.logFile, 'a');
    const err = fs.openSync(this.errFile, 'a');
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', out, err], env: { ...process.env } });
    fs.closeSync(out);
    fs.closeSync(err);
    live.add(child);
    this.exit = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
      }),
    );
    this.child = child;
  }

  /** Waits until the server answers Status. */
  async ready(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `${this.id} to serve (log ${this.logFile}, errors ${this.errFile})`,
      async () => {
        if (!this.running) throw new Error(`${this.id} exited: ${this.stderr().trim()}`);
        return (await this.status(500)) !== undefined;
      },
      timeoutMs,
      50,
    );
  }

  /** kill -9; resolves when the process is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.exit;
  }

  /** SIGTERM (a clean stop); SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    const t = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exit;
    clearTimeout(t);
  }

  /** Resolves with the exit code and signal of the current process. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exit;
  }

  stderr(): string {
    return fs.existsSync(this.errFile) ? fs.readFileSync(this.errFile, 'utf8') : '';
  }

  /** The node's status, or undefined when it does not answer within `timeoutMs`. */
  status(timeoutMs = 1_000): Promise<KvStatus | undefined> {
    return new Promise((resolve) => {
      this.client.status({}, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
        resolve(err ? undefined : (JSON.parse(res.json) as KvStatus)),
      );
    });
  }

  put(key: string, value: string, timeoutMs = 5_000): Promise<RaftKvPutResponse> {
    return new Promise((resolve, reject) => {
      this.client.put(
        { key, value: Buffer.from(value), id: 0 },
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err ? reject(err) : resolve(res)),
      );
    });
  }

  /** Puts over one shared PutStream call (opened on first use; a broken stream fails its puts and reopens). */
  putStreamed(key: string, value: string, timeoutMs = 5_000): Promise<RaftKvPutResponse> {
    if (!this.stream) {
      const call = this.client.putStream();
      const waiting = new Map<number, { resolve(r: RaftKvPutResponse): void; reject(e: unknown): void }>();
      call.on('data', (r: RaftKvPutResponse) => {
        const w = waiting.get(r.id);
        waiting.delete(r.id);
        w?.resolve(r);
      });
      const broken = (e: unknown) => {
        if (this.stream?.call === call) this.stream = undefined;
        for (const w of waiting.values()) w.reject(e);
        waiting.clear();
      };
      call.on('error', broken);
      call.on('end', () => broken(new Error('put stream ended')));
      this.stream = { call, waiting, next: 1 };
    }
    const s = this.stream;
    const id = s.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        s.waiting.delete(id);
        reject(new Error(`put ${key} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      s.waiting.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      s.call.write({ key, value: Buffer.from(value), id });
    });
  }

  get(key: string, linearizable: boolean, timeoutMs = 5_000): Promise<RaftKvGetResponse> {
    return new Promise((resolve, reject) => {
      this.client.get({ key, linearizable }, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? reject(err) : resolve(res),
      );
    });
  }

  close(): void {
    this.stream?.call.cancel();
    this.stream = undefined;
    this.client.close();
  }
}

/** A group of kv servers in a temporary directory. */
export class KvCluster {
  readonly nodes: KvProcess[];

  private constructor(
    readonly root: string,
    nodes: KvProcess[],
  ) {
    this.nodes = nodes;
  }

  /** Allocates ports and directories for `n` servers (not started). */
  static async create(n: number, settings: KvServerSettings = {}, prefix = 'raft-kv-'): Promise<KvCluster> {
    const root = fs.mkdtempSync(path.join(tmpdir(), prefix));
    const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    const raft = await Promise.all(ids.map(async () => `127.0.0.1:${await freePort()}`));
    const kv = await Promise.all(ids.map(async () => `127.0.0.1:${await freePort()}`));
    const peers = ids.map((id, i) => `${id}=${raft[i]}`).join(',');
    const nodes = ids.map((id, i) => new KvProcess(id, raft[i], kv[i], path.join(root, id), peers, settings, root));
    return new KvCluster(root, nodes);
  }

  node(id: string): KvProcess {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  async startAll(): Promise<void> {
    for (const n of this.nodes) n.start();
    await Promise.all(this.nodes.map((n) => n.ready()));
  }

  /** Waits until a running node leads and every other running node follows it; returns it and its term. */
  async leader(timeoutMs = 15_000): Promise<{ node: KvProcess; term: number }> {
    return waitFor(
      'a leader the running nodes agree on',
      async () => {
        const running = this.nodes.filter((n) => n.running);
        const sts = await Promise.all(running.map((n) => n.status(500)));
        const i = sts.findIndex((s) => s?.role === 'Leader');
        if (i < 0) return undefined;
        const lead = sts[i] as KvStatus;
        if (!sts.every((s) => s && s.leader === lead.id && s.term === lead.term)) return undefined;
        return { node: running[i], term: lead.term };
      },
      timeoutMs,
      20,
    );
  }

  /** Kills every process, closes clients and removes the directory (keeps it when `keep`). */
  async close(keep = false): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.kill()));
    for (const n of this.nodes) n.close();
    if (!keep) fs.rmSync(this.root, { recursive: true, force: true });
  }
}
