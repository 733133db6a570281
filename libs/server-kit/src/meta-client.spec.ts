import { Test } from '@nestjs/testing';
import {
  HeartbeatRequest,
  HeartbeatResponse,
  LeaveRequest,
  MetaEvent,
  MetaServiceService,
  NodeInfo,
  SlotTable,
  WatchRequest,
} from '@sofareg/contracts';
import { waitFor } from '@sofareg/testing';
import pino from 'pino';
import { GrpcServerHandle, grpc, startGrpcServer } from './grpc';
import { MetaClient } from './meta-client';
import { MetaClientModule } from './meta-client.module';
import { META_CLIENT } from './meta-client.tokens';

const node: NodeInfo = {
  address: '127.0.0.1:1',
  role: 'data',
  zone: 'z',
  dataCenter: 'dc',
  processId: 'p1',
  startedAt: 1,
  httpAddress: '',
  syncAddress: '',
};
const table = (epoch: number): SlotTable => ({ epoch, slotCount: 4, replicas: 1, slots: [] });

/**
 * A MetaService over real gRPC that plays one meta node: a follower answers NotLeader naming `leader`; the
 * leader answers heartbeats with table 1 and opens watches with table 2 and a provide-data value.
 */
async function metaNode(leader: string | undefined) {
  const seen = { heartbeats: 0, watches: 0, leaves: [] as string[] };
  const notLeader = { code: 'NotLeader', message: 'follower', field: '', leader: leader ?? '' };
  const handle: GrpcServerHandle = await startGrpcServer('127.0.0.1', 0, [
    {
      definition: MetaServiceService,
      implementation: {
        heartbeat: (
          call: grpc.ServerUnaryCall<HeartbeatRequest, HeartbeatResponse>,
          cb: grpc.sendUnaryData<HeartbeatResponse>,
        ) => {
          seen.heartbeats++;
          const self = `127.0.0.1:${handle.port}`;
          const answer = { slotTableEpoch: 1, leaseMs: 3_000 };
          if (leader) cb(null, { ...answer, ok: false, error: notLeader, slotTable: undefined, leader });
          else cb(null, { ...answer, ok: true, error: undefined, slotTable: table(1), leader: self });
        },
        watch: (call: grpc.ServerWritableStream<WatchRequest, MetaEvent>) => {
          seen.watches++;
          if (leader) {
            call.write({ event: { $case: 'error', value: notLeader } });
            call.end();
            return;
          }
          call.write({ event: { $case: 'slotTable', value: table(2) } });
          call.write({ event: { $case: 'provideData', value: { key: 'k', value: 'v', version: 1 } } });
        },
        leave: (call: grpc.ServerUnaryCall<LeaveRequest, object>, cb: grpc.sendUnaryData<object>) => {
          seen.leaves.push(call.request.node?.address ?? '');
          cb(null, {});
        },
      },
    },
  ]);
  return { handle, seen, address: `127.0.0.1:${handle.port}` };
}

describe('MetaClient over gRPC, provided by MetaClientModule', () => {
  const servers: GrpcServerHandle[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.shutdown(100)));
  });

  it('follows a follower to the leader, takes tables and provide-data from it, and leaves there on stop', async () => {
    const leader = await metaNode(undefined);
    const follower = await metaNode(leader.address);
    servers.push(leader.handle, follower.handle);
    const moduleRef = await Test.createTestingModule({
      imports: [
        MetaClientModule.forRootAsync({
          useFactory: () => ({ metaAddresses: [follower.address], node, logger: pino({ level: 'silent' }) }),
        }),
      ],
    }).compile();
    const client = moduleRef.get<MetaClient>(META_CLIENT);
    const provided: string[] = [];
    client.on('provideData', (pd) => provided.push(`${pd.key}=${pd.value}`));
    client.start();
    await client.ready;
    await waitFor("table 2 from the leader's watch stream", () => client.slotTable?.epoch === 2);
    await waitFor('provide-data from the leader', () => provided.length === 1);
    expect(provided).toEqual(['k=v']);
    expect(follower.seen.heartbeats).toBeGreaterThanOrEqual(1);
    expect(leader.seen.heartbeats).toBeGreaterThanOrEqual(1);
    await client.stop(true);
    expect(leader.seen.leaves).toEqual([node.address]);
    await moduleRef.close();
  });
});
