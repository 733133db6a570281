/**
 * A registry client in its own process, so a test can kill -9 it. Publishes `dataId` with the given address
 * through `session`, prints `synced` once acknowledged, then waits to be killed.
 * Usage: client-process.ts <session host:port> <dataId> <address>
 */
import { RegistryClient } from '@sofareg/client';

async function main(): Promise<void> {
  const [session, dataId, address] = process.argv.slice(2);
  const client = new RegistryClient({ sessionServers: [session], appName: 'killed-client' });
  const pub = client.publish({ dataId }, address);
  await pub.synced();
  process.stdout.write('synced\n');
  setInterval(() => undefined, 60_000);
}

void main();
