import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { loadExampleConfig } from './example-config';
import { PeerDirectory } from './peer-directory.service';

/**
 * Starts one instance: listens on HTTP, publishes `HOST:PORT` under SERVICE, subscribes to PEER_SERVICE.
 *   node tools/scripts/run-ts.cjs examples/nest-app/src/main.ts
 *   SERVICE=com.example.Pong PORT=8082 node tools/scripts/run-ts.cjs examples/nest-app/src/main.ts
 * then `curl localhost:<port>/peers`. Stops cleanly on SIGINT/SIGTERM (the client unregisters by closing).
 */
async function main(): Promise<void> {
  const config = loadExampleConfig(process.env);
  const app = await NestFactory.create(AppModule.register(config));
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  const url = await app.getUrl();
  const port = Number(new URL(url.replace('[::1]', 'localhost')).port);
  app.get(PeerDirectory).announce(`${config.host}:${port}`);
  console.log(
    `example ${config.service} listening on http://${config.host}:${port}/peers; calls ${config.peerService}`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
