import { BeforeApplicationShutdown, Controller, Inject } from '@nestjs/common';
import { GrpcMethod, GrpcStreamCall } from '@nestjs/microservices';
import type {
  ClientOffRequest,
  DataChangeBatch,
  ErrorInfo,
  GetDataRequest,
  GetDataResponse,
  ReplicateRequest,
  ReplicateResponse,
  SlotSnapshotRequest,
  SlotSnapshotResponse,
  WatchChangesRequest,
  WriteRequest,
  WriteResponse,
} from '@sofareg/contracts';
import type { DataNodeDriver } from '@sofareg/data-core';
import { LOGGER, Logger, METRICS, Metrics, ServedStream, grpc, serveStreamCalls } from '@sofareg/server-kit';
import { DATA_NODE_DRIVER } from './data.tokens';
import { ReplicationServer } from './replication/replication-server';

const MAX_GET_DATA = 1_000;

/**
 * The `DataService` RPCs, served through the gRPC microservice transport: each request is handed to the
 * {@link DataNodeDriver}; expected outcomes (NotReady, SlotMoved, StaleEpoch) are values in the answers. Write
 * streams and change watches are ended before shutdown, so the transport stops at once.
 */
@Controller()
export class DataController implements BeforeApplicationShutdown {
  private readonly served = new Set<ServedStream>();
  private readonly watches = new Set<grpc.ServerWritableStream<WatchChangesRequest, DataChangeBatch>>();
  private readonly instruments;

  constructor(
    @Inject(DATA_NODE_DRIVER) private readonly driver: DataNodeDriver,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: Metrics,
    private readonly replication: ReplicationServer,
  ) {
    const writes = metrics.counter('data_writes_total', 'write ops answered', ['result']);
    this.instruments = {
      writes,
      // The hot path's label set, resolved once.
      writesOk: writes.labels({ result: 'ok' }),
      writeBatch: metrics.sizeHistogram('data_write_batch_ops', 'ops per Write batch received from a session'),
    };
  }

  /** A session's write batches, each answered once replicated (or after the bound). */
  @GrpcStreamCall('DataService', 'Write')
  writeStream(call: grpc.ServerDuplexStream<WriteRequest, WriteResponse>): void {
    const s = serveStreamCalls(
      call,
      (req) => this.write(req),
      (req, err) => {
        const error = this.failed('write', err);
        return { results: req.ops.map(() => ({ ok: false, error })), slotTableEpoch: 0, callId: req.callId };
      },
    );
    this.served.add(s);
    void s.closed.then(() => this.served.delete(s));
  }

  @GrpcMethod('DataService', 'ClientOff')
  clientOff(req: ClientOffRequest): WriteResponse {
    return this.driver.clientOff(req);
  }

  @GrpcMethod('DataService', 'GetData')
  getData(req: GetDataRequest): GetDataResponse {
    return this.driver.getData(req, MAX_GET_DATA);
  }

  /** Follower side: a leader's stream of op batches. */
  @GrpcStreamCall('DataService', 'Replicate')
  replicate(call: grpc.ServerDuplexStream<ReplicateRequest, ReplicateResponse>): void {
    this.replication.serve(
      call,
      (req) => this.driver.replicate(req),
      (err) => this.failed('replicate', err),
    );
  }

  @GrpcMethod('DataService', 'SlotSnapshot')
  slotSnapshot(req: SlotSnapshotRequest): SlotSnapshotResponse {
    return this.driver.slotSnapshot(req);
  }

  /** A session's change watch: batches of datum versions until it goes. */
  @GrpcStreamCall('DataService', 'WatchChanges')
  watchChanges(call: grpc.ServerWritableStream<WatchChangesRequest, DataChangeBatch>): void {
    const session = call.request.sessionAddress;
    const unwatch = this.driver.watch(session, (batch) => call.write(batch));
    this.watches.add(call);
    call.sendMetadata(new grpc.Metadata());
    this.logger.info({ session }, 'session watches changes');
    const drop = () => {
      this.watches.delete(call);
      if (unwatch()) this.logger.info({ session }, 'session stopped watching');
    };
    call.on('cancelled', drop);
    call.on('close', drop);
    call.on('error', drop);
  }

  beforeApplicationShutdown(): void {
    for (const w of this.watches) w.end();
    for (const s of this.served) s.end();
  }

  private write(req: WriteRequest): Promise<WriteResponse> {
    this.instruments.writeBatch.observe(req.ops.length);
    return new Promise((resolve) =>
      this.driver.write(req, (res) => {
        let ok = 0;
        for (const r of res.results) {
          if (r.ok) ok++;
          else this.instruments.writes.inc({ result: r.error?.code ?? 'error' });
        }
        if (ok > 0) this.instruments.writesOk.inc(ok);
        resolve(res);
      }),
    );
  }

  private failed(what: string, err: Error): ErrorInfo {
    this.logger.error({ err }, `${what} failed`);
    return { code: 'Internal', message: err.message, field: '', leader: '' };
  }
}
