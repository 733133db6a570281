/**
 * The server side of `bench-transport.ts`, one process per variant (argv[2]): `raw` serves DataService's GetData
 * (unary) and Write (bidi) with a hand-wired grpc-js server, `nest` serves the same handlers from a Nest
 * controller behind GrpcJsTransport. Tells its parent `{ port }` once listening, and answers `'cpu'` with its
 * CPU time used so far (µs, user + system).
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { DataServiceService, GetDataRequest, GetDataResponse, WriteRequest, WriteResponse } from '@sofareg/contracts';
import { GrpcJsTransport, grpc, serveStreamCalls, startGrpcServer, useGrpcTransports } from '@sofareg/server-kit';
import { DataBenchModule, getData, write, writeFailed } from './bench-transport-handlers';

async function startRaw(): Promise<number> {
  const handle = await startGrpcServer('127.0.0.1', 0, [
    {
      definition: DataServiceService,
      implementation: {
        getData: (call: grpc.ServerUnaryCall<GetDataRequest, unknown>, cb: grpc.sendUnaryData<GetDataResponse>) =>
          cb(null, getData(call.request)),
        write: (call: grpc.ServerDuplexStream<WriteRequest, WriteResponse>) =>
          serveStreamCalls(call, write, writeFailed),
      },
    },
  ]);
  return handle.port;
}

async function startNest(): Promise<number> {
  const app = await NestFactory.create(DataBenchModule, { logger: false });
  const transport = new GrpcJsTransport({ host: '127.0.0.1', port: 0, services: [DataServiceService] });
  useGrpcTransports(app, [transport]);
  await app.startAllMicroservices();
  await app.init();
  return transport.bound();
}

async function main(): Promise<void> {
  const variant = process.argv[2];
  const port = variant === 'nest' ? await startNest() : await startRaw();
  process.on('message', (m) => {
    if (m !== 'cpu') return;
    const { user, system } = process.cpuUsage();
    process.send?.({ cpuMicros: user + system });
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ port });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
