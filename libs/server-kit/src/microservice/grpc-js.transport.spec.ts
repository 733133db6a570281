import { Controller, INestApplication } from '@nestjs/common';
import { GrpcMethod, GrpcStreamCall, RpcException } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { MetaServiceClient, MetaServiceService, SlotTable } from '@sofareg/contracts';
import { RegistryError } from '@sofareg/model';
import { Observable, from } from 'rxjs';
import { CLIENT_CHANNEL_OPTIONS, grpc } from '../grpc';
import { GrpcJsTransport } from './grpc-js.transport';
import { useGrpcTransports } from './use-grpc-transports';

// A tiny service with every call kind, in JSON so that the spec needs no generated code.
const json = {
  requestSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  requestDeserialize: (b: Buffer) => JSON.parse(b.toString()),
  responseSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  responseDeserialize: (b: Buffer) => JSON.parse(b.toString()),
};
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.v1.Echo/${name}`,
  originalName: name,
  requestStream,
  responseStream,
  ...json,
});
const EchoService = {
  say: method('Say', false, false),
  fail: method('Fail', false, false),
  missing: method('Missing', false, false),
  chat: method('Chat', true, true),
  count: method('Count', false, true),
  ticks: method('Ticks', false, true),
  sum: method('Sum', true, false),
} satisfies grpc.ServiceDefinition;
const EchoClient = grpc.makeGenericClientConstructor(EchoService, 'Echo');
type Client = InstanceType<typeof EchoClient> & Record<string, (...args: unknown[]) => unknown>;

interface Text {
  text: string;
}
interface Total {
  total: number;
}

/** How `Fail` fails, by request text. */
const failures: Record<string, () => unknown> = {
  code: () => Object.assign(new Error('not the leader'), { code: grpc.status.FAILED_PRECONDITION }),
  rpc: () => new RpcException({ code: grpc.status.NOT_FOUND, message: 'no such datum' }),
  field: () => new RegistryError({ code: 'InvalidArgument', field: 'dataId', message: 'must match the pattern' }),
  other: () => new Error('boom'),
};

@Controller()
class EchoController {
  openStreams: grpc.ServerDuplexStream<Text, Text>[] = [];

  @GrpcMethod('Echo', 'Say')
  say(req: Text, metadata: grpc.Metadata, call: grpc.ServerUnaryCall<Text, Text>): Text {
    return { text: `${req.text}|${String(metadata.get('who')[0] ?? '')}|${call.getPath()}` };
  }

  @GrpcMethod('Echo', 'Fail')
  async fail(req: Text): Promise<Text> {
    throw failures[req.text]();
  }

  @GrpcStreamCall('Echo', 'Chat')
  chat(call: grpc.ServerDuplexStream<Text, Text>): void {
    this.openStreams.push(call);
    call.on('data', (m: Text) => call.write({ text: `echo:${m.text}` }));
    call.on('end', () => call.end());
  }

  @GrpcStreamCall('Echo', 'Count')
  count(call: grpc.ServerWritableStream<{ n: number }, { i: number }>): void {
    for (let i = 0; i < call.request.n; i++) call.write({ i });
    call.end();
  }

  @GrpcMethod('Echo', 'Ticks')
  ticks(req: { n: number }): Observable<{ i: number }> {
    return from(Array.from({ length: req.n }, (_, i) => ({ i })));
  }

  @GrpcStreamCall('Echo', 'Sum')
  sum(call: grpc.ServerReadableStream<{ n: number }, Total>, callback: grpc.sendUnaryData<Total>): void {
    let total = 0;
    call.on('data', (m: { n: number }) => (total += m.n));
    call.on('end', () => callback(null, { total }));
  }
}

@Controller()
class MetaController {
  @GrpcMethod('MetaService', 'GetSlotTable')
  getSlotTable(req: { knownEpoch: number }): SlotTable {
    return { epoch: req.knownEpoch + 1, slotCount: 4, replicas: 2, slots: [] };
  }
}

describe('GrpcJsTransport', () => {
  let app: INestApplication;
  let echo: GrpcJsTransport;
  let meta: GrpcJsTransport;
  let controller: EchoController;
  const clients: grpc.Client[] = [];

  const echoClient = (port = echo.port): Client => {
    const c = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), CLIENT_CHANNEL_OPTIONS) as Client;
    clients.push(c);
    return c;
  };
  const unary = <Res>(client: Client, name: string, req: unknown, metadata = new grpc.Metadata()) =>
    new Promise<Res>((resolve, reject) =>
      client[name](req, metadata, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res))),
    );
  const collect = <T>(stream: grpc.ClientReadableStream<T>) =>
    new Promise<T[]>((resolve, reject) => {
      const got: T[] = [];
      stream.on('data', (m: T) => got.push(m));
      stream.on('end', () => resolve(got));
      stream.on('error', reject);
    });

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [EchoController, MetaController] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    echo = new GrpcJsTransport({ host: '127.0.0.1', port: 0, services: [EchoService], shutdownGraceMs: 300 });
    meta = new GrpcJsTransport({ host: '127.0.0.1', port: 0, services: [MetaServiceService] });
    useGrpcTransports(app, [echo, meta]);
    await app.startAllMicroservices();
    await app.init();
    controller = app.get(EchoController);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await app.close();
  });

  it('reports the port it bound when configured with port 0', async () => {
    expect(echo.port).toBeGreaterThan(0);
    await expect(echo.bound()).resolves.toBe(echo.port);
    expect(meta.port).not.toBe(echo.port);
  });

  it('answers a unary call with the handler value, given request, metadata and call', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('who', 'ann');
    await expect(unary(echoClient(), 'say', { text: 'hi' }, metadata)).resolves.toEqual({
      text: 'hi|ann|/test.v1.Echo/Say',
    });
  });

  it('serves generated ts-proto definitions', async () => {
    const client = new MetaServiceClient(`127.0.0.1:${meta.port}`, grpc.credentials.createInsecure());
    clients.push(client);
    const table = await new Promise<SlotTable>((resolve, reject) =>
      client.getSlotTable({ knownEpoch: 6 }, (err, res) => (err ? reject(err) : resolve(res))),
    );
    expect(table).toMatchObject({ epoch: 7, slotCount: 4, replicas: 2 });
  });

  it.each([
    ['code', grpc.status.FAILED_PRECONDITION, 'not the leader'],
    ['rpc', grpc.status.NOT_FOUND, 'no such datum'],
    ['field', grpc.status.INVALID_ARGUMENT, 'dataId: must match the pattern'],
    ['other', grpc.status.INTERNAL, 'boom'],
  ])('maps a handler error of kind %s to status %i', async (kind, code, details) => {
    await expect(unary(echoClient(), 'fail', { text: kind })).rejects.toMatchObject({ code, details });
  });

  it('answers UNIMPLEMENTED for a method without a handler and for a service another transport serves', async () => {
    const unimplemented = { code: grpc.status.UNIMPLEMENTED };
    await expect(unary(echoClient(), 'missing', { text: 'x' })).rejects.toMatchObject(unimplemented);
    await expect(unary(echoClient(meta.port), 'say', { text: 'x' })).rejects.toMatchObject(unimplemented);
  });

  it('echoes a bidi stream through @GrpcStreamCall', async () => {
    const call = echoClient().chat() as grpc.ClientDuplexStream<Text, Text>;
    const answers = collect(call);
    for (const text of ['a', 'b', 'c']) call.write({ text });
    call.end();
    await expect(answers).resolves.toEqual([{ text: 'echo:a' }, { text: 'echo:b' }, { text: 'echo:c' }]);
  });

  it('serves server streaming through @GrpcStreamCall and through @GrpcMethod returning an observable', async () => {
    const count = echoClient().count({ n: 3 }) as grpc.ClientReadableStream<unknown>;
    await expect(collect(count)).resolves.toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    const ticks = echoClient().ticks({ n: 2 }) as grpc.ClientReadableStream<unknown>;
    await expect(collect(ticks)).resolves.toEqual([{ i: 0 }, { i: 1 }]);
  });

  it('serves client streaming with the call and the callback', async () => {
    const total = await new Promise((resolve, reject) => {
      const done = (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res));
      const call = echoClient().sum(done) as grpc.ClientWritableStream<unknown>;
      for (const n of [1, 2, 3]) call.write({ n });
      call.end();
    });
    expect(total).toEqual({ total: 6 });
  });

  it('runs close hooks first, then ends open streams within the grace and frees the port', async () => {
    const port = echo.port as number;
    const call = echoClient().chat() as grpc.ClientDuplexStream<Text, Text>;
    const first = new Promise((resolve) => call.once('data', resolve));
    call.write({ text: 'open' });
    await first;
    const ended = new Promise<string>((resolve) => {
      call.on('error', () => resolve('error'));
      call.on('end', () => resolve('end'));
    });
    call.on('data', () => undefined);
    const hooked: string[] = [];
    echo.onClose(() => {
      hooked.push(`streams open: ${controller.openStreams.length}`);
    });
    await echo.close();
    expect(hooked).toEqual(['streams open: 1']);
    await expect(ended).resolves.toMatch(/error|end/);
    const again = new grpc.Server();
    await new Promise<number>((resolve, reject) =>
      again.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    again.forceShutdown();
  });

  it('lets a close hook end served streams cleanly before the server stops', async () => {
    echo.onClose(() => {
      for (const s of controller.openStreams) s.end();
    });
    const call = echoClient().chat() as grpc.ClientDuplexStream<Text, Text>;
    const answers = collect(call);
    call.write({ text: 'x' });
    await new Promise((resolve) => call.once('data', resolve));
    await echo.close();
    // Resolves only on a clean end: collect() rejects when the stream fails (as a cancelled one does).
    await expect(answers).resolves.toEqual([{ text: 'echo:x' }]);
  });
});
