/**
 * A replicated key-value server: RaftNode + file storage + gRPC transport + the `sofareg.v1.RaftKv` gRPC API.
 * The program the real-process tests kill and restart, and the benchmark drives.
 *
 *   node tools/scripts/run-ts.cjs libs/raft/test/kv-server.ts --id n1 --peers n1=127.0.0.1:7001,n2=… \
 *     --kv-port 7101 --data-dir /tmp/n1 [--tick-ms 50] [--election-ticks 10] [--snapshot-entries 10000]
 *     [--keep-entries 1000] [--join] [--strict-ready-order]
 *
 * Prints one JSON line per event on stdout (`"msg":"kv server ready"` once serving). A storage error at start
 * (corrupt or truncated file, locked directory) is printed to stderr as `kv-server: <code>: <message>` and the
 * process exits with code 2; SIGTERM stops the node cleanly (exit 0).
 */
import * as grpc from '@grpc/grpc-js';
import {
  type RaftKvError,
  type RaftKvGetRequest,
  type RaftKvGetResponse,
  type RaftKvPutRequest,
  type RaftKvPutResponse,
  RaftKvService,
  type RaftKvStatusRequest,
  type RaftKvStatusResponse,
} from '@sofareg/contracts';
import {
  GrpcTransport,
  RaftNode,
  RaftNodeError,
  type RaftLogger,
  RaftStorageError,
  openRaftStorage,
  parsePeers,
} from '../src';
import { KvStateMachine } from '../src/testing';
import { createHash } from 'node:crypto';
import { PerformanceObserver, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const log = (level: string, obj: Record<string, unknown>, msg: string) =>
  process.stdout.write(`${JSON.stringify({ t: new Date().toISOString(), level, msg, ...obj })}\n`);
const logger: RaftLogger = {
  info: (o, m) => log('info', o, m),
  warn: (o, m) => log('warn', o, m),
  error: (o, m) => log('error', o, m),
};

function toKvError(e: unknown): RaftKvError {
  if (e instanceof RaftNodeError)
    return { code: e.code, message: e.message, leaderId: e.leaderId, leaderAddress: e.leaderAddress };
  return { code: 'Internal', message: e instanceof Error ? e.message : String(e), leaderId: '', leaderAddress: '' };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      id: { type: 'string' },
      peers: { type: 'string' },
      'kv-port': { type: 'string' },
      'data-dir': { type: 'string' },
      'tick-ms': { type: 'string', default: '50' },
      'election-ticks': { type: 'string', default: '10' },
      'snapshot-entries': { type: 'string', default: '10000' },
      'keep-entries': { type: 'string', default: '1000' },
      join: { type: 'boolean', default: false },
      'strict-ready-order': { type: 'boolean', default: false },
    },
  });
  const id = values.id;
  const dataDir = values['data-dir'];
  const kvPort = Number(values['kv-port']);
  if (!id || !values.peers || !dataDir || !Number.isInteger(kvPort)) {
    process.stderr.write(
      'usage: kv-server --id ID --peers id=host:port,... --kv-port PORT --data-dir DIR [--tick-ms N] [--snapshot-entries N] [--keep-entries N] [--join]\n',
    );
    process.exit(64);
  }
  const peers = parsePeers(values.peers);
  const kv = new KvStateMachine();
  const storage = await openRaftStorage(dataDir);
  if (storage.recovery.tornTail)
    logger.warn({ tornTail: storage.recovery.tornTail }, 'cut a torn write at the end of the log');
  const node = new RaftNode<number>({
    id,
    peers,
    join: values.join,
    storage,
    transport: new GrpcTransport({}, logger.warn),
    // Resolve proposals with the index they were applied at.
    stateMachine: {
      apply: (e) => (kv.apply(e), e.index),
      snapshot: () => kv.snapshot(),
      restore: (d) => kv.restore(d),
    },
    tickMs: Number(values['tick-ms']),
    electionTicks: Number(values['election-ticks']),
    snapshotEntries: Number(values['snapshot-entries']),
    compactionKeepEntries: Number(values['keep-entries']),
    pipelining: !values['strict-ready-order'],
    logger,
  });
  await node.start();
  node.onFailure(() => process.exit(3));

  // Event-loop delay since the previous Status call: how long work waited for this process's thread.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  let elu = performance.eventLoopUtilization();
  // Long garbage-collection pauses are logged: they stop heartbeats like any other stall.
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if (e.duration > 100)
        logger.warn(
          {
            node: id,
            gcMs: Math.round(e.duration),
            kind: (e as unknown as { detail?: { kind?: number } }).detail?.kind,
          },
          'long GC pause',
        );
  }).observe({ entryTypes: ['gc'] });
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  let seq = 0;
  const put = (req: RaftKvPutRequest): Promise<RaftKvPutResponse> =>
    node
      .propose(KvStateMachine.encode({ op: 'put', id: `${id}-${seq++}`, key: req.key, value: dec.decode(req.value) }))
      .then(
        (index) => ({ ok: true, index, error: undefined, id: req.id }),
        (e: unknown) => ({ ok: false, index: 0, error: toKvError(e), id: req.id }),
      );
  // Channelz stays on: grpc-js 1.14 tracks sessions (which forceShutdown closes) only with it.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 << 20 });
  server.addService(RaftKvService, {
    put: (
      call: grpc.ServerUnaryCall<RaftKvPutRequest, RaftKvPutResponse>,
      cb: grpc.sendUnaryData<RaftKvPutResponse>,
    ) => {
      put(call.request).then((r) => cb(null, r));
    },
    putStream: (call: grpc.ServerDuplexStream<RaftKvPutRequest, RaftKvPutResponse>) => {
      call.on('data', (req: RaftKvPutRequest) => {
        put(req).then((r) => {
          if (!call.cancelled && !call.writableEnded) call.write(r);
        });
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
    get: (
      call: grpc.ServerUnaryCall<RaftKvGetRequest, RaftKvGetResponse>,
      cb: grpc.sendUnaryData<RaftKvGetResponse>,
    ) => {
      const { key, linearizable } = call.request;
      const answer = () => {
        const v = kv.get(key);
        cb(null, { ok: true, found: v !== null, value: Buffer.from(enc.encode(v ?? '')), error: undefined });
      };
      if (!linearizable) return answer();
      node
        .readIndex()
        .then(answer, (e: unknown) =>
          cb(null, { ok: false, found: false, value: Buffer.alloc(0), error: toKvError(e) }),
        );
    },
    status: (
      _call: grpc.ServerUnaryCall<RaftKvStatusRequest, RaftKvStatusResponse>,
      cb: grpc.sendUnaryData<RaftKvStatusResponse>,
    ) => {
      const busy = performance.eventLoopUtilization(elu);
      elu = performance.eventLoopUtilization();
      setImmediate(() => loopDelay.reset());
      cb(null, {
        json: JSON.stringify({
          ...node.status(),
          kvApplied: kv.appliedIndex,
          kvDigest: createHash('sha256').update(kv.digest()).digest('hex').slice(0, 16),
          pid: process.pid,
          loopUtilization: busy.utilization,
          loopDelayMs: {
            p50: loopDelay.percentile(50) / 1e6,
            p99: loopDelay.percentile(99) / 1e6,
            max: loopDelay.max / 1e6,
          },
        }),
      });
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${kvPort}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  logger.info({ node: id, raft: peers[id], kvPort, dataDir, pid: process.pid }, 'kv server ready');

  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    server.forceShutdown();
    void node.stop().then(() => process.exit(0));
  });
}

main().catch((e: unknown) => {
  if (e instanceof RaftStorageError || e instanceof RaftNodeError) {
    process.stderr.write(`kv-server: ${e.code}: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`kv-server: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
