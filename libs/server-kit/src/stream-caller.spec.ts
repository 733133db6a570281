import { DataServiceClient, DataServiceService, WriteRequest, WriteResponse } from '@sofareg/contracts';
import { CLIENT_CHANNEL_OPTIONS, GrpcServerHandle, grpc, isTransient, startGrpcServer } from './grpc';
import { ServedStream, StreamCaller, serveStreamCalls } from './stream-caller';

const request = (epoch: number): WriteRequest => ({
  sessionAddress: 's',
  sessionProcessId: 'p',
  slotTableEpoch: epoch,
  ops: [],
  callId: 0,
});

/** A Write server that answers each request with its epoch, after `delayOf(epoch)` ms (never when negative). */
async function server(
  delayOf: (epoch: number) => number,
  fail?: (epoch: number) => boolean,
): Promise<{ handle: GrpcServerHandle; address: string; streams: number }> {
  const out = { handle: undefined as unknown as GrpcServerHandle, address: '', streams: 0 };
  out.handle = await startGrpcServer('127.0.0.1', 0, [
    {
      definition: DataServiceService,
      implementation: {
        write: (call: grpc.ServerDuplexStream<WriteRequest, WriteResponse>) => {
          out.streams++;
          serveStreamCalls(
            call,
            (req) => {
              if (fail?.(req.slotTableEpoch)) throw new Error(`refused ${req.slotTableEpoch}`);
              const ms = delayOf(req.slotTableEpoch);
              return new Promise<WriteResponse>((resolve) => {
                if (ms >= 0)
                  setTimeout(() => resolve({ results: [], slotTableEpoch: req.slotTableEpoch, callId: 0 }), ms);
              });
            },
            (req) => ({ results: [], slotTableEpoch: -req.slotTableEpoch, callId: 0 }),
          );
        },
      },
    },
  ]);
  out.address = `127.0.0.1:${out.handle.port}`;
  return out;
}

describe('StreamCaller over real gRPC', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function setup(delayOf: (epoch: number) => number, timeoutMs = 2_000, fail?: (epoch: number) => boolean) {
    const s = await server(delayOf, fail);
    cleanup.push(() => s.handle.shutdown(100));
    const client = new DataServiceClient(s.address, grpc.credentials.createInsecure(), CLIENT_CHANNEL_OPTIONS);
    cleanup.push(() => client.close());
    const caller = new StreamCaller<WriteRequest, WriteResponse>(() => client.write(), timeoutMs);
    cleanup.push(() => caller.close());
    return { s, caller };
  }

  it('matches answers that come out of order to their requests, on one stream', async () => {
    const { s, caller } = await setup((epoch) => (epoch === 1 ? 80 : 5));
    const answers = await Promise.all([1, 2, 3].map((e) => caller.call(request(e))));
    expect(answers.map((a) => a.slotTableEpoch)).toEqual([1, 2, 3]);
    expect(s.streams).toBe(1);
    expect(caller.inFlight).toBe(0);
  });

  it('answers a request whose handler failed with the error answer', async () => {
    const { caller } = await setup(
      () => 1,
      2_000,
      (e) => e === 7,
    );
    expect((await caller.call(request(7))).slotTableEpoch).toBe(-7);
    expect((await caller.call(request(8))).slotTableEpoch).toBe(8);
  });

  it('fails a request unanswered in time with a transient error, and keeps serving the others', async () => {
    const { caller } = await setup((epoch) => (epoch === 1 ? -1 : 1), 100);
    const lost = caller.call(request(1));
    await expect(lost).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    await lost.catch((e) => expect(isTransient(e)).toBe(true));
    expect((await caller.call(request(2))).slotTableEpoch).toBe(2);
  });

  it('fails what is pending when the server goes, and opens a new stream to the next server on that address', async () => {
    const s = await server(() => -1);
    const port = s.handle.port;
    const client = new DataServiceClient(s.address, grpc.credentials.createInsecure(), {
      ...CLIENT_CHANNEL_OPTIONS,
      'grpc.initial_reconnect_backoff_ms': 50,
      'grpc.max_reconnect_backoff_ms': 100,
    });
    cleanup.push(() => client.close());
    const caller = new StreamCaller<WriteRequest, WriteResponse>(() => client.write(), 5_000);
    cleanup.push(() => caller.close());
    const pending = caller.call(request(1));
    await new Promise((r) => setTimeout(r, 50));
    s.handle.server.forceShutdown();
    const err = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTransient(err)).toBe(true);
    const again = await startGrpcServer('127.0.0.1', port, [
      {
        definition: DataServiceService,
        implementation: {
          write: (call: grpc.ServerDuplexStream<WriteRequest, WriteResponse>) =>
            serveStreamCalls(
              call,
              (req) => ({ results: [], slotTableEpoch: req.slotTableEpoch * 10, callId: 0 }),
              () => ({ results: [], slotTableEpoch: 0, callId: 0 }),
            ),
        },
      },
    ]);
    cleanup.push(() => again.shutdown(100));
    let answer: WriteResponse | undefined;
    for (let i = 0; i < 50 && !answer; i++)
      answer = await caller
        .call(request(2))
        .catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 50)));
    expect(answer?.slotTableEpoch).toBe(20);
  });

  it('lets a server end its streams on shutdown: running requests are answered first, and the server stops at once', async () => {
    const served: ServedStream[] = [];
    let requestArrived: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => (requestArrived = resolve));
    const handle = await startGrpcServer('127.0.0.1', 0, [
      {
        definition: DataServiceService,
        implementation: {
          write: (call: grpc.ServerDuplexStream<WriteRequest, WriteResponse>) => {
            const answerLater = (req: WriteRequest) => {
              requestArrived();
              return new Promise<WriteResponse>((r) =>
                setTimeout(() => r({ results: [], slotTableEpoch: req.slotTableEpoch, callId: 0 }), 50),
              );
            };
            served.push(serveStreamCalls(call, answerLater, () => ({ results: [], slotTableEpoch: 0, callId: 0 })));
          },
        },
      },
    ]);
    cleanup.push(() => handle.shutdown(100));
    const client = new DataServiceClient(
      `127.0.0.1:${handle.port}`,
      grpc.credentials.createInsecure(),
      CLIENT_CHANNEL_OPTIONS,
    );
    cleanup.push(() => client.close());
    const caller = new StreamCaller<WriteRequest, WriteResponse>(() => client.write(), 5_000);
    cleanup.push(() => caller.close());
    const running = caller.call(request(1));
    await arrived; // ended before its request arrives, the stream would drop it
    for (const s of served) s.end();
    expect((await running).slotTableEpoch).toBe(1);
    await Promise.all(served.map((s) => s.closed));
    const started = Date.now();
    await handle.shutdown(2_000);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('fails calls after close', async () => {
    const { caller } = await setup(() => -1);
    const pending = caller.call(request(1));
    caller.close();
    await expect(pending).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    await expect(caller.call(request(2))).rejects.toMatchObject({ code: grpc.status.CANCELLED });
  });
});
