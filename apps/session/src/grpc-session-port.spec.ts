import { DataServiceService, SlotTable, WriteOp, WriteRequest, WriteResponse } from '@sofareg/contracts';
import { slotOf } from '@sofareg/consistent-hash';
import { GrpcServerHandle, Metrics, grpc, serveStreamCalls, startGrpcServer } from '@sofareg/server-kit';
import { testPublisher } from '@sofareg/session-core/testing';
import { DataRouter, systemScheduler } from '@sofareg/session-node';
import { ClientConnections } from './client-connections';
import { GrpcSessionPort } from './grpc-session-port';
import { parseSessionConfig } from './session-config';
import { SessionIdentity } from './session-identity';
import { SessionMetrics } from './session-metrics';

const SLOTS = 8;

/** A data server on a real loopback port that records Write calls and answers them when the test says. */
class FakeLeader {
  readonly calls: WriteRequest[] = [];
  private readonly held: (() => void)[] = [];
  hold = false;
  private handle!: GrpcServerHandle;

  async start(): Promise<string> {
    const write = (call: grpc.ServerDuplexStream<WriteRequest, WriteResponse>) =>
      serveStreamCalls(
        call,
        (req) =>
          new Promise<WriteResponse>((resolve) => {
            this.calls.push(req);
            const answer = () =>
              resolve({ results: req.ops.map(() => ({ ok: true, error: undefined })), slotTableEpoch: 1, callId: 0 });
            if (this.hold) this.held.push(answer);
            else answer();
          }),
        () => ({ results: [], slotTableEpoch: 1, callId: 0 }),
      );
    this.handle = await startGrpcServer('127.0.0.1', 0, [
      { definition: DataServiceService, implementation: { write } },
    ]);
    return `127.0.0.1:${this.handle.port}`;
  }

  /** Answers every held call. */
  release(): void {
    this.hold = false;
    for (const a of this.held.splice(0)) a();
  }

  ops(): string[] {
    return this.calls.flatMap((c) => c.ops.map((o) => (o.op?.$case === 'publish' ? o.op.value.registerId : '')));
  }

  stop(): Promise<void> {
    return this.handle.shutdown(100);
  }
}

const publish = (registerId: string, dataInfoId: string): WriteOp => ({
  op: { $case: 'publish', value: testPublisher(dataInfoId, registerId) },
});

const table = (epoch: number, leader: string): SlotTable => ({
  epoch,
  slotCount: SLOTS,
  replicas: 1,
  slots: Array.from({ length: SLOTS }, (_, id) => ({ id, leader, leaderEpoch: epoch, followers: [] })),
});

const until = async (cond: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('DataRouter over the gRPC port (real gRPC on loopback)', () => {
  let a: FakeLeader;
  let b: FakeLeader;
  let addrA: string;
  let addrB: string;
  let current: SlotTable | undefined;
  let router: DataRouter;
  let port: GrpcSessionPort;
  const batches: number[] = [];

  beforeEach(async () => {
    a = new FakeLeader();
    b = new FakeLeader();
    addrA = await a.start();
    addrB = await b.start();
    current = table(1, addrA);
    batches.length = 0;
    const identity = new SessionIdentity(parseSessionConfig([], {}));
    port = new GrpcSessionPort(new ClientConnections(new SessionMetrics(new Metrics('session'))), identity);
    router = new DataRouter(
      {
        sessionAddress: 's:1',
        sessionProcessId: 'sp',
        dataCenter: 'dc',
        maxBatch: 100,
        maxInFlight: 1,
        retryForMs: 2_000,
        maxPending: 1_000,
        logger: {
          error: () => undefined,
          warn: () => undefined,
          info: () => undefined,
          debug: () => undefined,
        } as never,
        slotTable: () => current,
        onBatch: (n) => batches.push(n),
      },
      port,
      systemScheduler,
    );
  });

  afterEach(async () => {
    router.close();
    port.close();
    await Promise.all([a.stop(), b.stop()]);
  });

  it('sends a lone write at once, and what arrives while a call is in flight as one batch after it', async () => {
    a.hold = true;
    const first = router.write(publish('r0', 'd0'), 'd0');
    await until(() => a.calls.length === 1);
    const rest = [1, 2, 3, 4].map((i) => router.write(publish(`r${i}`, `d${i}`), `d${i}`));
    await new Promise((r) => setTimeout(r, 50));
    expect(a.calls).toHaveLength(1); // bounded: nothing more until the first call answers
    a.release();
    expect((await first).ok).toBe(true);
    expect((await Promise.all(rest)).every((r) => r.ok)).toBe(true);
    expect(batches).toEqual([1, 4]);
    expect(a.ops()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });

  it('sends writes that waited for a leader to the new leader once the slot table moves them', async () => {
    a.hold = true;
    const first = router.write(publish('r0', 'd0'), 'd0');
    await until(() => a.calls.length === 1);
    const queued = router.write(publish('r1', 'd1'), 'd1');
    current = table(2, addrB);
    router.onSlotTable();
    expect((await queued).ok).toBe(true);
    expect(b.ops()).toEqual(['r1']);
    a.release();
    await first;
    expect(a.ops()).toEqual(['r0']);
  });

  it('follows a newer leader that synced the slot from this session, for writes already queued', async () => {
    a.hold = true;
    const first = router.write(publish('r0', 'd0'), 'd0');
    await until(() => a.calls.length === 1);
    const queued = router.write(publish('r1', 'd1'), 'd1');
    expect(router.hintLeader(slotOf('d1', SLOTS), 5, addrB)).toBe(true);
    expect((await queued).ok).toBe(true);
    expect(b.ops()).toEqual(['r1']);
    a.release();
    await first;
  });

  it('answers queued writes Closed on close, and sends nothing more', async () => {
    a.hold = true;
    const first = router.write(publish('r0', 'd0'), 'd0');
    await until(() => a.calls.length === 1);
    const queued = router.write(publish('r1', 'd1'), 'd1');
    router.close();
    expect(await queued).toMatchObject({ ok: false, error: { code: 'Closed' } });
    a.release();
    await first;
    expect(a.ops()).toEqual(['r0']);
  });
});
