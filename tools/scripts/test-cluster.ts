/**
 * A throwaway cluster for tools that test against real servers from outside the workspace (the client
 * package check): one meta, one data and two sessions on free loopback ports in a temporary folder. Prints
 * one JSON line `{"sessions":["host:port",...]}` once ready, and stops everything on SIGTERM, SIGINT or when
 * its stdin closes (the parent went away).
 */
import { LocalCluster } from '@sofareg/launcher';

async function main(): Promise<void> {
  const cluster = await LocalCluster.start({
    dataServers: 1,
    sessions: 2,
    metaArgs: ['--replicas', '1'],
    dataArgs: ['--replicas', '1'],
    env: { SOFAREG_LOG_LEVEL: 'warn' },
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await cluster.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ sessions: cluster.sessionAddresses })}\n`);
}

main().catch((err: Error) => {
  console.error(err.stack ?? String(err));
  process.exit(1);
});
