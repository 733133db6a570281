import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  DataChangeBatch,
  DataServiceClient,
  DataServiceService,
  Publisher,
  ReplicateResponse,
  SlotTable,
  WriteResponse,
} from '@sofareg/contracts';
import type { DataNodeDriver } from '@sofareg/data-core';
import { HashRing } from '@sofareg/hash-ring';
import { CLIENT_CHANNEL_OPTIONS, GrpcJsTransport, createLogger, grpc, useGrpcTransports } from '@sofareg/server-kit';
import { parseDataConfig } from './data-config';
import { DataModule } from './data.module';
import { DATA_NODE_DRIVER } from './data.tokens';

const SELF = '127.0.0.1:0';

/** Resolves with the first message a stream delivers. */
function first<T>(stream: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>): Promise<T> {
  return new Promise((resolve, reject) => {
    stream.once('data', resolve);
    stream.once('error', reject);
  });
}

/**
 * One data server's Nest application, its `DataService` served by the gRPC transport on a free port and called
 * with the generated client. Meta is unreachable: the slot table and session list are fed as meta's would be.
 */
describe('DataModule over the gRPC transport', () => {
  let app: INestApplication;
  let client: DataServiceClient;

  beforeAll(async () => {
    const config = parseDataConfig(['--host', '127.0.0.1', '--port', '0', '--meta', '127.0.0.1:1', '--slots', '4'], {});
    const logger = createLogger('data', SELF, 'silent');
    const transport = new GrpcJsTransport({ host: '127.0.0.1', port: 0, services: [DataServiceService], logger });
    const moduleRef = await Test.createTestingModule({
      imports: [DataModule.forRoot(config, logger, transport)],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    useGrpcTransports(app, [transport]);
    await app.startAllMicroservices();
    await app.init();
    client = new DataServiceClient(
      `127.0.0.1:${transport.port}`,
      grpc.credentials.createInsecure(),
      CLIENT_CHANNEL_OPTIONS,
    );
  });

  afterAll(async () => {
    client?.close();
    await app?.close();
  });

  it('answers reads before it has a slot table with NotReady, as values', async () => {
    const res = await new Promise((resolve, reject) =>
      client.getData({ dataInfoIds: ['svc'], dataCenter: '', slotTableEpoch: 0 }, (err, r) =>
        err ? reject(err) : resolve(r),
      ),
    );
    expect(res).toMatchObject({ data: [], errors: [{ dataInfoId: 'svc', error: { code: 'NotReady' } }] });
  });

  it('answers a leader that it does not follow a slot on the Replicate stream', async () => {
    const call = client.replicate();
    const answer = first<ReplicateResponse>(call);
    call.write({
      leader: 'other:1',
      slotTableEpoch: 1,
      slots: [{ slotId: 0, leaderEpoch: 1, seq: 0, ops: [] }],
      callId: 3,
    });
    expect(await answer).toMatchObject({
      callId: 3,
      slots: [{ slotId: 0, ok: false, nextSeq: -1, error: { code: 'StaleEpoch' } }],
    });
    call.end();
  });

  it('takes a write once it leads the slot, notifies a watching session and serves the read', async () => {
    const table: SlotTable = {
      epoch: 1,
      slotCount: 4,
      replicas: 1,
      slots: [0, 1, 2, 3].map((id) => ({ id, leader: SELF, leaderEpoch: 1, followers: [] })),
    };
    app.get(HashRing).update(table);
    app.get<DataNodeDriver>(DATA_NODE_DRIVER).onSessionNodes([]); // no session to sync from: every slot accepts
    const watch = client.watchChanges({ sessionAddress: 's:1', sessionProcessId: '' });
    await new Promise<void>((resolve) => watch.once('metadata', () => resolve()));
    const change = first<DataChangeBatch>(watch);
    const p: Publisher = {
      dataInfoId: 'svc',
      registerId: 'r1',
      dataList: ['x'],
      zone: 'z',
      appName: '',
      clientId: '',
      processId: '',
      connectId: 'c',
      sessionProcessId: '',
      sessionAddress: 's:1',
      version: 1,
      registerTimestamp: Date.now(),
      clientIp: '',
    };
    const writes = client.write();
    const written = first<WriteResponse>(writes);
    writes.write({
      sessionAddress: 's:1',
      sessionProcessId: '',
      slotTableEpoch: 1,
      ops: [{ op: { $case: 'publish', value: p } }],
      callId: 9,
    });
    expect(await written).toMatchObject({ callId: 9, results: [{ ok: true }], slotTableEpoch: 1 });
    expect((await change).changes.map((c) => c.dataInfoId)).toEqual(['svc']);
    const res = await new Promise((resolve, reject) =>
      client.getData({ dataInfoIds: ['svc'], dataCenter: '', slotTableEpoch: 1 }, (err, r) =>
        err ? reject(err) : resolve(r),
      ),
    );
    expect(res).toMatchObject({ data: [{ dataInfoId: 'svc', publishers: [{ registerId: 'r1' }] }], errors: [] });
    writes.end();
    watch.cancel();
  });
});
