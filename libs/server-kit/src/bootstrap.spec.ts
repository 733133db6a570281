import { Controller, Inject, Injectable, Module, OnApplicationBootstrap } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { MetaServiceClient, MetaServiceService, SlotTable } from '@sofareg/contracts';
import pino from 'pino';
import { runRole } from './bootstrap';
import { CLIENT_CHANNEL_OPTIONS, grpc } from './grpc';
import { GrpcJsTransport } from './microservice/grpc-js.transport';

const TRANSPORT = Symbol('transport');

@Injectable()
class Announcer implements OnApplicationBootstrap {
  portAtBootstrap: number | undefined;
  constructor(@Inject(TRANSPORT) private readonly transport: GrpcJsTransport) {}
  onApplicationBootstrap(): void {
    this.portAtBootstrap = this.transport.port;
  }
}

@Controller()
class MetaController {
  @GrpcMethod('MetaService', 'GetSlotTable')
  getSlotTable(): SlotTable {
    throw Object.assign(new Error('no table yet'), { code: grpc.status.UNAVAILABLE });
  }
}

describe('runRole with gRPC transports', () => {
  it('binds the transports before providers boot, serves controllers, keeps HTTP errors as they were', async () => {
    const transport = new GrpcJsTransport({ host: '127.0.0.1', port: 0, services: [MetaServiceService] });
    @Module({ controllers: [MetaController], providers: [Announcer, { provide: TRANSPORT, useValue: transport }] })
    class RoleModule {}
    const logger = pino({ level: 'silent' });
    const app = await runRole({ module: RoleModule, logger, host: '127.0.0.1', httpPort: 0, transports: [transport] });
    const address = `127.0.0.1:${transport.port}`;
    const client = new MetaServiceClient(address, grpc.credentials.createInsecure(), CLIENT_CHANNEL_OPTIONS);
    try {
      expect(app.get(Announcer).portAtBootstrap).toBe(transport.port);
      const answer = new Promise((resolve, reject) =>
        client.getSlotTable({ knownEpoch: 0 }, (err, res) => (err ? reject(err) : resolve(res))),
      );
      await expect(answer).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'no table yet' });
      const http = await fetch(`${await app.getUrl()}/nowhere`);
      expect(http.status).toBe(404);
      expect(await http.json()).toMatchObject({ statusCode: 404 });
    } finally {
      client.close();
      await app.close();
    }
  });
});
