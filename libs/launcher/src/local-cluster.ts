import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './ports';
import { RoleProcess } from './role-process';
import { waitFor } from './wait-for';

/** The shape of a local cluster. Ports are picked free unless given. */
export interface LocalClusterOptions {
  /** Meta nodes, one Raft group (default 1). With more than one, each gets `--node-id meta-<i> --peers ...`. */
  metaNodes?: number;
  dataServers?: number;
  sessions?: number;
  /** Zones of the sessions, in order (default: all DEFAULT_ZONE). */
  sessionZones?: string[];
  /** Folder for data dirs and logs (default: a new temporary folder, removed by stop()). */
  baseDir?: string;
  /** Use the default ports (9600...) instead of free ones; one server per role only. */
  defaultPorts?: boolean;
  metaArgs?: string[];
  dataArgs?: string[];
  sessionArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

/** A node of the cluster with its addresses. */
export interface ClusterNode {
  process: RoleProcess;
  port: number;
  httpPort: number;
  address: string;
}

/** A meta node of the cluster: its Raft id and port besides its addresses. */
export interface MetaClusterNode extends ClusterNode {
  nodeId: string;
  raftPort: number;
}

/**
 * Real meta, data and session processes on loopback: one meta node (or a Raft group of `metaNodes`), N data
 * servers, M sessions. Data and session servers are given every meta address.
 * `stop()` ends them all and removes the temporary folder; call it in afterAll/finally.
 */
export class LocalCluster {
  /** The meta nodes (one Raft group), in id order. */
  readonly metas: MetaClusterNode[] = [];
  readonly data: ClusterNode[] = [];
  readonly sessions: ClusterNode[] = [];
  readonly baseDir: string;
  private readonly ownsDir: boolean;

  private constructor(private readonly opts: LocalClusterOptions) {
    this.ownsDir = !opts.baseDir;
    this.baseDir = opts.baseDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sofareg-cluster-'));
  }

  /** Starts the cluster and waits until every server is healthy. */
  static async start(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
    const cluster = new LocalCluster(opts);
    try {
      await cluster.boot();
    } catch (err) {
      await cluster.stop(true);
      throw err;
    }
    return cluster;
  }

  /** The first meta node (with one meta node: the meta). */
  get meta(): MetaClusterNode {
    return this.metas[0];
  }

  /** Every meta gRPC address, comma-separated (what `--meta` takes). */
  get metaAddress(): string {
    return this.metas.map((m) => m.address).join(',');
  }

  /**
   * The meta leader as the running meta nodes report it (`GET /meta/leader/query`), once a majority of those
   * that answer agree on one; waits up to `timeoutMs`.
   */
  async metaLeader(timeoutMs = 10_000): Promise<MetaClusterNode> {
    return waitFor(
      'the meta nodes to agree on a leader',
      async () => {
        const views = await Promise.all(
          this.metas
            .filter((m) => m.process.running)
            .map((m) =>
              m.process.http<{ leaderId?: string | null }>('/meta/leader/query').then(
                (r) => r.leaderId ?? '',
                () => '',
              ),
            ),
        );
        const votes = new Map<string, number>();
        for (const v of views) if (v) votes.set(v, (votes.get(v) ?? 0) + 1);
        for (const [id, voteCount] of votes) {
          const meta = this.metas.find((x) => x.nodeId === id);
          if (meta && meta.process.running && voteCount * 2 > views.length) return meta;
        }
        return undefined;
      },
      timeoutMs,
      20,
    );
  }

  /** Addresses clients connect to. */
  get sessionAddresses(): string[] {
    return this.sessions.map((s) => s.address);
  }

  private async port(fixed: number): Promise<number> {
    return this.opts.defaultPorts ? fixed : freePort();
  }

  private async boot(): Promise<void> {
    await this.bootMetas(this.opts.metaNodes ?? 1);
    const dataServerCount = this.opts.dataServers ?? 1;
    for (let i = 0; i < dataServerCount; i++) {
      const name = `data-${i + 1}`;
      const [port, httpPort] = [await this.port(9620), await this.port(9622)];
      this.data.push(await this.node('data', name, port, httpPort, this.opts.dataArgs ?? []));
    }
    await Promise.all(this.data.map((d) => d.process.ready()));
    const sessionCount = this.opts.sessions ?? 1;
    for (let i = 0; i < sessionCount; i++) {
      const zone = this.opts.sessionZones?.[i];
      this.sessions.push(
        await this.node('session', `session-${i + 1}`, await this.port(9600), await this.port(9603), [
          '--sync-port',
          String(await this.port(9602)),
          ...(zone ? ['--zone', zone] : []),
          ...(this.opts.sessionArgs ?? []),
        ]),
      );
    }
    await Promise.all(this.sessions.map((s) => s.process.ready()));
  }

  private async bootMetas(count: number): Promise<void> {
    if (count > 1 && this.opts.defaultPorts) throw new Error('defaultPorts starts one meta node only');
    const planned: { nodeId: string; port: number; httpPort: number; raftPort: number }[] = [];
    for (let i = 1; i <= count; i++) {
      planned.push({
        nodeId: `meta-${i}`,
        port: await this.port(9610),
        httpPort: await this.port(9615),
        raftPort: await this.port(9612),
      });
    }
    const peers = planned.map((p) => `${p.nodeId}=127.0.0.1:${p.raftPort}/${p.port}/${p.httpPort}`).join(',');
    for (const p of planned) {
      const meta = await this.node('meta', p.nodeId, p.port, p.httpPort, [
        '--node-id',
        p.nodeId,
        '--raft-port',
        String(p.raftPort),
        ...(count > 1 ? ['--peers', peers] : []),
        '--warmup-ms',
        '0',
        ...(this.opts.metaArgs ?? []),
      ]);
      this.metas.push({ ...meta, nodeId: p.nodeId, raftPort: p.raftPort });
    }
    await Promise.all(this.metas.map((m) => m.process.ready()));
  }

  private async node(
    role: 'meta' | 'data' | 'session',
    name: string,
    port: number,
    httpPort: number,
    extra: string[],
  ): Promise<ClusterNode> {
    const dataDir = path.join(this.baseDir, name);
    const args = [
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--http-port',
      String(httpPort),
      '--data-dir',
      dataDir,
      ...extra,
    ];
    if (role !== 'meta') args.push('--meta', this.metaAddress);
    const process = new RoleProcess({
      role,
      args,
      httpPort,
      logFile: path.join(this.baseDir, 'logs', `${name}.log`),
      env: this.opts.env,
    });
    process.start();
    return { process, port, httpPort, address: `127.0.0.1:${port}` };
  }

  /** Starts one more data server (same meta), returning it once healthy. */
  async addData(): Promise<ClusterNode> {
    const name = `data-${this.data.length + 1}`;
    const dataServer = await this.node('data', name, await freePort(), await freePort(), this.opts.dataArgs ?? []);
    this.data.push(dataServer);
    await dataServer.process.ready();
    return dataServer;
  }

  /** Starts one more session (same meta), returning it once healthy. */
  async addSession(zone?: string): Promise<ClusterNode> {
    const name = `session-${this.sessions.length + 1}`;
    const session = await this.node('session', name, await freePort(), await freePort(), [
      '--sync-port',
      String(await freePort()),
      ...(zone ? ['--zone', zone] : []),
      ...(this.opts.sessionArgs ?? []),
    ]);
    this.sessions.push(session);
    await session.process.ready();
    return session;
  }

  /**
   * Ends every process (SIGTERM, then SIGKILL) and removes the temporary folder it made, unless `keepLogs` or
   * the environment variable SOFAREG_KEEP_LOGS is set (to read the servers' logs after a failure).
   */
  async stop(keepLogs = false): Promise<void> {
    const all = [...this.sessions, ...this.data, ...this.metas];
    await Promise.all(all.map((n) => n.process.stop('SIGTERM', 3_000)));
    if (process.env.SOFAREG_KEEP_LOGS) {
      console.log(`cluster logs kept in ${this.baseDir}/logs`);
      return;
    }
    if (this.ownsDir && !keepLogs) fs.rmSync(this.baseDir, { recursive: true, force: true });
  }
}
