/**
 * `npm start`: an all-in-one local registry — one meta, one data and one session server, as separate
 * processes on the default ports, with durable state and logs under ./var. Ctrl-C (or SIGTERM) stops them
 * all gracefully.
 */
import * as path from 'node:path';
import { LocalCluster, WORKSPACE_ROOT } from '@sofareg/launcher';

async function main(): Promise<void> {
  const baseDir = path.join(WORKSPACE_ROOT, 'var');
  console.log(`sofareg: starting meta, data and session (state and logs in ${baseDir}) ...`);
  const cluster = await LocalCluster.start({
    baseDir,
    defaultPorts: true,
    metaArgs: ['--replicas', '1'],
    dataArgs: ['--replicas', '1'],
  });
  const rows = [
    ['meta', cluster.meta],
    ['data', cluster.data[0]],
    ['session', cluster.sessions[0]],
  ] as const;
  console.log('sofareg: ready');
  for (const [role, n] of rows) {
    console.log(
      `  ${role.padEnd(8)} gRPC ${n.address.padEnd(16)} admin http://127.0.0.1:${n.httpPort}/health/check   log var/logs/${role}-1.log`,
    );
  }
  console.log(
    `  clients connect to ${cluster.sessionAddresses[0]} (or discover sessions at http://127.0.0.1:${cluster.sessions[0].httpPort}/api/servers/query)`,
  );
  let stopping = false;
  const stop = async (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    console.log(`sofareg: ${signal}: stopping ...`);
    await cluster.stop();
    console.log('sofareg: stopped');
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // Watch the servers: if one dies, say so and stop the rest.
  const watch = setInterval(() => {
    for (const [role, n] of rows) {
      if (!n.process.running && !stopping) {
        console.error(`sofareg: ${role} exited unexpectedly; see var/logs/${role}-1.log`);
        clearInterval(watch);
        void stop('failure', 1);
      }
    }
  }, 500);
}

main().catch((err) => {
  console.error(`sofareg: failed to start: ${(err as Error).message}`);
  process.exit(1);
});
