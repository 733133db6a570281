import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './ports';
import { RoleProcess } from './role-process';

/** The shape of a local cluster. Ports are picked free unless given. */
export interface LocalClusterOptions {
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

/**
 * Real meta, data and session processes on loopback: one meta node, N data servers, M sessions.
 * `stop()` ends them all and removes the temporary folder; call it in afterAll/finally.
 */
export class LocalCluster {
  meta!: ClusterNode;
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
    const c = new LocalCluster(opts);
    try {
      await c.boot();
    } catch (err) {
      await c.stop(true);
      throw err;
    }
    return c;
  }

  get metaAddress(): string {
    return this.meta.address;
  }

  /** Addresses clients connect to. */
  get sessionAddresses(): string[] {
    return this.sessions.map((s) => s.address);
  }

  private async port(fixed: number): Promise<number> {
    return this.opts.defaultPorts ? fixed : freePort();
  }

  private async boot(): Promise<void> {
    const metaPort = await this.port(9610);
    this.meta = await this.node('meta', 'meta-1', metaPort, await this.port(9615), [
      '--raft-port', String(await this.port(9612)),
      '--warmup-ms', '0',
      ...(this.opts.metaArgs ?? []),
    ]);
    await this.meta.process.ready();
    const n = this.opts.dataServers ?? 1;
    for (let i = 0; i < n; i++) this.data.push(await this.node('data', `data-${i + 1}`, await this.port(9620), await this.port(9622), this.opts.dataArgs ?? []));
    await Promise.all(this.data.map((d) => d.process.ready()));
    const m = this.opts.sessions ?? 1;
    for (let i = 0; i < m; i++) {
      const zone = this.opts.sessionZones?.[i];
      this.sessions.push(
        await this.node('session', `session-${i + 1}`, await this.port(9600), await this.port(9603), [
          '--sync-port', String(await this.port(9602)),
          ...(zone ? ['--zone', zone] : []),
          ...(this.opts.sessionArgs ?? []),
        ]),
      );
    }
    await Promise.all(this.sessions.map((s) => s.process.ready()));
  }

  private async node(role: 'meta' | 'data' | 'session', name: string, port: number, httpPort: number, extra: string[]): Promise<ClusterNode> {
    const dataDir = path.join(this.baseDir, name);
    const args = ['--host', '127.0.0.1', '--port', String(port), '--http-port', String(httpPort), '--data-dir', dataDir, ...extra];
    if (role !== 'meta') args.push('--meta', this.meta.address);
    const process = new RoleProcess({ role, args, httpPort, logFile: path.join(this.baseDir, 'logs', `${name}.log`), env: this.opts.env });
    process.start();
    return { process, port, httpPort, address: `127.0.0.1:${port}` };
  }

  /** Starts one more data server (same meta), returning it once healthy. */
  async addData(): Promise<ClusterNode> {
    const d = await this.node('data', `data-${this.data.length + 1}`, await freePort(), await freePort(), this.opts.dataArgs ?? []);
    this.data.push(d);
    await d.process.ready();
    return d;
  }

  /** Starts one more session (same meta), returning it once healthy. */
  async addSession(zone?: string): Promise<ClusterNode> {
    const s = await this.node('session', `session-${this.sessions.length + 1}`, await freePort(), await freePort(), [
      '--sync-port', String(await freePort()),
      ...(zone ? ['--zone', zone] : []),
      ...(this.opts.sessionArgs ?? []),
    ]);
    this.sessions.push(s);
    await s.process.ready();
    return s;
  }

  /**
   * Ends every process (SIGTERM, then SIGKILL) and removes the temporary folder it made, unless `keepLogs` or
   * the environment variable SOFAREG_KEEP_LOGS is set (to read the servers' logs after a failure).
   */
  async stop(keepLogs = false): Promise<void> {
    const all = [...this.sessions, ...this.data, ...(this.meta ? [this.meta] : [])];
    await Promise.all(all.map((n) => n.process.stop('SIGTERM', 3_000)));
    if (process.env.SOFAREG_KEEP_LOGS) {
      console.log(`cluster logs kept in ${this.baseDir}/logs`);
      return;
    }
    if (this.ownsDir && !keepLogs) fs.rmSync(this.baseDir, { recursive: true, force: true });
  }
}
