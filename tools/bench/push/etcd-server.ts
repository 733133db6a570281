import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, waitFor } from '@sofareg/testing';

/** A single-member etcd on loopback, for side-by-side comparison. Debian's `etcd-server` 3.4 provides `etcd`. */
export class EtcdServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly clientUrl: string,
    private readonly dataDir: string,
  ) {}

  /** Starts etcd with its data in `baseDir` and waits until it answers `/health`. */
  static async start(baseDir: string): Promise<EtcdServer> {
    const bin = findEtcd();
    const clientPort = await freePort();
    const peerPort = await freePort();
    const dataDir = path.join(baseDir, 'etcd');
    fs.mkdirSync(dataDir, { recursive: true });
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const log = fs.openSync(path.join(baseDir, 'etcd.log'), 'a');
    const child = spawn(
      bin,
      [
        '--name',
        'bench',
        '--data-dir',
        dataDir,
        '--listen-client-urls',
        client,
        '--advertise-client-urls',
        client,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        `bench=${peer}`,
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    const server = new EtcdServer(child, client, dataDir);
    process.once('exit', () => child.kill('SIGKILL'));
    await waitFor(
      `etcd at ${client} to be healthy (log: ${path.join(baseDir, 'etcd.log')})`,
      async () => {
        if (child.exitCode !== null)
          throw new Error(`etcd exited with ${child.exitCode}; see ${path.join(baseDir, 'etcd.log')}`);
        const res = await fetch(`${client}/health`);
        return res.ok && ((await res.json()) as { health?: string }).health === 'true';
      },
      20_000,
      50,
    );
    return server;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(t);
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function findEtcd(): string {
  for (const p of [process.env.ETCD_BIN, '/usr/bin/etcd', '/usr/local/bin/etcd']) if (p && fs.existsSync(p)) return p;
  const which = spawnSync('which', ['etcd'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new Error("etcd not found: install Debian's etcd-server (`apt-get install -y etcd-server`) or set ETCD_BIN");
}
