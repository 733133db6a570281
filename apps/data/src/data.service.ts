import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import {
  ClientOffRequest,
  DataChangeBatch,
  DataServiceService,
  ErrorInfo,
  GetDataRequest,
  ReplicateRequest,
  ReplicateResponse,
  SlotSnapshotRequest,
  SlotTable,
  WatchChangesRequest,
  WriteRequest,
  WriteResponse,
} from '@sofareg/contracts';
import type { DataNodeDriver, DataServerCore } from '@sofareg/data-core';
import {
  CONFIG,
  GrpcServerHandle,
  LOGGER,
  Logger,
  METRICS,
  MetaClient,
  Metrics,
  Readiness,
  ServedStream,
  grpc,
  serveStreamCalls,
  startGrpcServer,
} from '@sofareg/server-kit';
import { DataConfig } from './data-config';
import { selfAddress } from './data-node.providers';
import { DATA_CORE, DATA_NODE_DRIVER, META_CLIENT } from './data.tokens';
import { ReplicationServer } from './replication/replication-server';

const MAX_GET_DATA = 1_000;

/**
 * The data server's gRPC shell: serves `DataService` by handing each request to the {@link DataNodeDriver},
 * feeds it meta's slot tables and session lists, and carries its change notifications to watching sessions.
 * Everything else (what to fetch, replicate, wait for) is the driver's and the core's.
 */
@Injectable()
export class DataService implements OnApplicationBootstrap, BeforeApplicationShutdown, Readiness {
  private grpcServer: GrpcServerHandle | undefined;
  /** Write streams and change watches served here, ended on shutdown so the server stops at once. */
  private readonly served = new Set<ServedStream>();
  private readonly watches = new Set<grpc.ServerWritableStream<WatchChangesRequest, DataChangeBatch>>();
  private readonly m;

  constructor(
    @Inject(CONFIG) private readonly config: DataConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: Metrics,
    @Inject(DATA_CORE) private readonly core: DataServerCore,
    @Inject(DATA_NODE_DRIVER) private readonly driver: DataNodeDriver,
    @Inject(META_CLIENT) private readonly meta: MetaClient,
    private readonly replication: ReplicationServer,
  ) {
    const writes = metrics.counter('data_writes_total', 'write ops answered', ['result']);
    this.m = {
      writes,
      // The hot path's label set, resolved once.
      writesOk: writes.labels({ result: 'ok' }),
      writeBatch: metrics.sizeHistogram('data_write_batch_ops', 'ops per Write batch received from a session'),
    };
  }

  get slotTable(): SlotTable | undefined {
    return this.core.slotTable;
  }

  isReady(): boolean {
    return this.core.slotTable !== undefined && this.grpcServer !== undefined;
  }

  detail(): Record<string, unknown> {
    const statuses: Record<string, number> = {};
    for (const s of this.core.slots.values()) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
    return { epoch: this.core.slotTable?.epoch ?? 0, publishers: this.core.publisherCount, slots: statuses };
  }

  async onApplicationBootstrap(): Promise<void> {
    this.grpcServer = await startGrpcServer(this.config.host, this.config.port, [
      { definition: DataServiceService, implementation: this.grpcImplementation() },
    ]);
    this.meta.on('refused', (e) => {
      this.logger.fatal({ code: e.code }, `meta refused this data server: ${e.message}`);
      process.exit(1);
    });
    this.meta.on('slotTable', (t) => {
      this.driver.onSlotTable(t);
      const leads = [...this.core.slots.values()].filter((s) => s.role === 'leader').length;
      this.logger.info({ epoch: t.epoch, leads, follows: this.core.slots.size - leads }, 'slot table applied');
    });
    this.meta.on('sessionNodes', (nodes) => this.driver.onSessionNodes(nodes));
    this.meta.start();
    this.driver.start();
    const http = `${this.config.advertiseHost}:${this.config.httpPort}`;
    this.logger.info({ grpc: selfAddress(this.config), http }, 'data listening');
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'data shutting down');
    this.driver.stop();
    await this.meta.stop();
    for (const w of this.watches) w.end();
    for (const s of this.served) s.end();
    await this.grpcServer?.shutdown();
  }

  private write(req: WriteRequest): Promise<WriteResponse> {
    this.m.writeBatch.observe(req.ops.length);
    return new Promise((resolve) =>
      this.driver.write(req, (res) => {
        let ok = 0;
        for (const r of res.results) {
          if (r.ok) ok++;
          else this.m.writes.inc({ result: r.error?.code ?? 'error' });
        }
        if (ok > 0) this.m.writesOk.inc(ok);
        resolve(res);
      }),
    );
  }

  private failed(what: string): (err: Error) => ErrorInfo {
    return (err) => {
      this.logger.error({ err }, `${what} failed`);
      return { code: 'Internal', message: err.message, field: '', leader: '' };
    };
  }

  private watch(call: grpc.ServerWritableStream<WatchChangesRequest, DataChangeBatch>): void {
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

  private grpcImplementation(): grpc.UntypedServiceImplementation {
    const unary =
      <Req, Res>(fn: (req: Req) => Res) =>
      (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
        try {
          cb(null, fn(call.request));
        } catch (err) {
          this.logger.error({ err }, 'data call failed');
          cb({ code: grpc.status.INTERNAL, details: (err as Error).message });
        }
      };
    return {
      write: (call: grpc.ServerDuplexStream<WriteRequest, WriteResponse>) => {
        const s = serveStreamCalls(call, (req) => this.write(req), (req, err) => {
          const error = this.failed('write')(err);
          return { results: req.ops.map(() => ({ ok: false, error })), slotTableEpoch: this.core.slotTable?.epoch ?? 0, callId: req.callId };
        });
        this.served.add(s);
        void s.closed.then(() => this.served.delete(s));
      },
      clientOff: unary((req: ClientOffRequest) => this.driver.clientOff(req)),
      getData: unary((req: GetDataRequest) => this.driver.getData(req, MAX_GET_DATA)),
      replicate: (call: grpc.ServerDuplexStream<ReplicateRequest, ReplicateResponse>) =>
        this.replication.serve(call, (req) => this.driver.replicate(req), this.failed('replicate')),
      slotSnapshot: unary((req: SlotSnapshotRequest) => this.driver.slotSnapshot(req)),
      watchChanges: (call: grpc.ServerWritableStream<WatchChangesRequest, DataChangeBatch>) => this.watch(call),
    };
  }
}
