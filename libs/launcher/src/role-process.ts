import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitFor } from './wait-for';

/** The workspace root (where package.json is). */
export const WORKSPACE_ROOT = path.resolve(__dirname, '../../..');

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** How to start one server process. */
export interface RoleProcessOptions {
  role: 'meta' | 'data' | 'session';
  args: string[];
  httpPort: number;
  /** Where its output goes; kept for post-mortem. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * One real server process (meta, data or session), started from the workspace sources. Every process
 * started is killed when the test process exits, whatever happened.
 */
export class RoleProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(readonly opts: RoleProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    fs.mkdirSync(path.dirname(this.opts.logFile), { recursive: true });
    const out = fs.openSync(this.opts.logFile, 'a');
    const child = spawn(
      process.execPath,
      [path.join(WORKSPACE_ROOT, 'tools/scripts/run-ts.cjs'), `apps/${this.opts.role}/src/main.ts`, ...this.opts.args],
      {
        cwd: WORKSPACE_ROOT,
        env: { ...process.env, ...this.opts.env },
        stdio: ['ignore', out, out],
      },
    );
    fs.closeSync(out);
    live.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        live.delete(child);
        resolve(code);
      }),
    );
    this.child = child;
  }

  /** Waits until GET /health/check answers 200. */
  async ready(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      `${this.opts.role} on http port ${this.opts.httpPort} to be healthy (log: ${this.opts.logFile})`,
      async () => {
        if (!this.running) throw new Error(`${this.opts.role} exited; see ${this.opts.logFile}`);
        const res = await fetch(`http://127.0.0.1:${this.opts.httpPort}/health/check`, {
          signal: AbortSignal.timeout(2_000),
        });
        return res.status === 200;
      },
      timeoutMs,
      50,
    );
  }

  /** Sends a signal and waits for the process to exit (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<number | null> {
    const child = this.child;
    if (!child || !this.running) return child?.exitCode ?? null;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** kill -9. */
  kill(): Promise<number | null> {
    return this.stop('SIGKILL');
  }

  /** GETs a path of its HTTP admin and parses JSON (or returns text). */
  async http<T = unknown>(pathAndQuery: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.opts.httpPort}${pathAndQuery}`, {
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  }

  log(): string {
    return fs.existsSync(this.opts.logFile) ? fs.readFileSync(this.opts.logFile, 'utf8') : '';
  }
}
