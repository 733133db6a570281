/**
 * Starts a 3-node meta cluster (one Raft group) on this machine, with state and logs under ./var/meta-cluster:
 *
 *   npx nx run meta:cluster                          # 3 meta nodes
 *   npx nx run meta:cluster --args="--servers"       # and one data server and one session pointed at them
 *
 * Ports: meta-1 9610 (gRPC) / 9612 (Raft) / 9615 (HTTP), meta-2 9640 / 9642 / 9645, meta-3 9650 / 9652 / 9655;
 * with --servers the data server and the session take their defaults (9620/9622, 9600/9602/9603).
 * Ctrl-C (or SIGTERM) stops everything gracefully. Each node is the same command a deployment runs:
 *   node tools/scripts/run-ts.cjs apps/meta/src/main.ts --node-id meta-2 --port 9640 --http-port 9645 --raft-port 9642 \
 *     --peers meta-1=127.0.0.1:9612/9610/9615,meta-2=127.0.0.1:9642/9640/9645,meta-3=127.0.0.1:9652/9650/9655
 */
import * as path from 'node:path';
import { RoleProcess, WORKSPACE_ROOT, waitFor } from '@sofareg/testing';

const NODES = [
  { id: 'meta-1', port: 9610, raft: 9612, http: 9615 },
  { id: 'meta-2', port: 9640, raft: 9642, http: 9645 },
  { id: 'meta-3', port: 9650, raft: 9652, http: 9655 },
];

async function main(): Promise<void> {
  const base = path.join(WORKSPACE_ROOT, 'var', 'meta-cluster');
  const withServers = process.argv.includes('--servers');
  const peers = NODES.map((n) => `${n.id}=127.0.0.1:${n.raft}/${n.port}/${n.http}`).join(',');
  const metaList = NODES.map((n) => `127.0.0.1:${n.port}`).join(',');
  const procs: { name: string; p: RoleProcess }[] = [];
  const start = (name: string, role: 'meta' | 'data' | 'session', httpPort: number, args: string[]) => {
    const p = new RoleProcess({
      role,
      httpPort,
      args: ['--host', '127.0.0.1', '--data-dir', path.join(base, name), ...args],
      logFile: path.join(base, 'logs', `${name}.log`),
    });
    p.start();
    procs.push({ name, p });
    return p;
  };
  console.log(`sofareg: starting 3 meta nodes (state and logs in ${base}) ...`);
  for (const n of NODES) {
    start(n.id, 'meta', n.http, [
      '--node-id',
      n.id,
      '--port',
      String(n.port),
      '--http-port',
      String(n.http),
      '--raft-port',
      String(n.raft),
      '--peers',
      peers,
    ]);
  }
  await Promise.all(procs.map(({ p }) => p.ready(30_000)));
  if (withServers) {
    start('data-1', 'data', 9622, ['--meta', metaList, '--replicas', '2']);
    start('session-1', 'session', 9603, ['--meta', metaList]);
    await Promise.all(procs.map(({ p }) => p.ready(30_000)));
  }
  const leader = await waitFor(
    'a meta leader',
    async () => (await procs[0].p.http<{ leaderId?: string }>('/meta/leader/query')).leaderId,
    10_000,
  );
  console.log(`sofareg: meta cluster ready; leader ${leader}`);
  for (const n of NODES)
    console.log(
      `  ${n.id}  gRPC 127.0.0.1:${n.port}  Raft 127.0.0.1:${n.raft}  admin http://127.0.0.1:${n.http}/meta/leader/query`,
    );
  console.log(`  servers take --meta ${metaList}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`sofareg: ${signal}: stopping ...`);
    await Promise.all(procs.map(({ p }) => p.stop('SIGTERM', 5_000)));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  setInterval(() => {
    for (const { name, p } of procs) {
      if (!p.running && !stopping)
        console.error(
          `sofareg: ${name} exited; see ${path.join(base, 'logs', `${name}.log`)} (the others keep running)`,
        );
    }
  }, 2_000).unref();
  await new Promise(() => undefined);
}

main().catch((err) => {
  console.error(`sofareg: failed to start the meta cluster: ${(err as Error).message}`);
  process.exit(1);
});
