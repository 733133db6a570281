import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  ClientOffRequest,
  DataChangeBatch,
  DataServiceService,
  Datum,
  ErrorInfo,
  GetDataRequest,
  GetDataResponse,
  NodeInfo,
  SlotTable,
  WatchChangesRequest,
  WriteRequest,
  WriteResponse,
  WriteResult,
} from '@sofareg/contracts';
import { slotOf } from '@sofareg/consistent-hash';
import { CONFIG, GrpcServerHandle, LOGGER, Logger, METRICS, MetaClient, Metrics, Readiness, grpc, startGrpcServer } from '@sofareg/server-kit';
import { randomUUID } from 'node:crypto';
import { ChangeBatcher } from './core/change-batcher';
import { DatumStore } from './core/datum-store';
import { DataConfig } from './data-config';

const MAX_NOTIFY_BATCH = 1_000;
const MAX_GET_DATA = 1_000;

interface Watcher {
  call: grpc.ServerWritableStream<WatchChangesRequest, DataChangeBatch>;
  sessionAddress: string;
  batcher: ChangeBatcher;
  scheduled: boolean;
}

/**
 * A data server: stores the publishers of the slots it leads, assigns datum versions, and notifies every
 * watching session of version changes (coalesced per flush, one stream per session). Writes and reads for
 * a slot it does not lead are answered with SlotMoved naming the leader.
 */
@Injectable()
export class DataService implements OnApplicationBootstrap, OnApplicationShutdown, Readiness {
  readonly store = new DatumStore();
  readonly processId = randomUUID();
  private grpcServer: GrpcServerHandle | undefined;
  private meta!: MetaClient;
  private readonly watchers = new Set<Watcher>();
  private compactTimer: NodeJS.Timeout | undefined;
  private readonly writes;
  private readonly notified;
  private readonly refusedSlot;

  constructor(
    @Inject(CONFIG) private readonly config: DataConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: Metrics,
  ) {
    this.writes = metrics.counter('data_writes_total', 'publisher writes applied', ['op', 'changed']);
    this.notified = metrics.counter('data_change_notifications_total', 'datum changes sent to sessions');
    this.refusedSlot = metrics.counter('data_slot_moved_total', 'requests refused because this server does not lead the slot');
    const store = this.store;
    metrics.gauge('data_publishers', 'publishers held', [], function () {
      this.set(store.publishers);
    });
    metrics.gauge('data_datums', 'dataInfoIds held', [], function () {
      this.set(store.size);
    });
  }

  get selfAddress(): string {
    return `${this.config.advertiseHost}:${this.config.port}`;
  }

  get slotTable(): SlotTable | undefined {
    return this.meta?.slotTable;
  }

  isReady(): boolean {
    return this.meta?.slotTable !== undefined && this.grpcServer !== undefined;
  }

  detail(): Record<string, unknown> {
    return { epoch: this.meta?.slotTable?.epoch ?? 0, publishers: this.store.publishers };
  }

  async onApplicationBootstrap(): Promise<void> {
    this.grpcServer = await startGrpcServer(this.config.host, this.config.port, [
      { definition: DataServiceService, implementation: this.grpcImplementation() },
    ]);
    const node: NodeInfo = {
      address: this.selfAddress,
      role: 'data',
      zone: this.config.zone,
      dataCenter: this.config.dataCenter,
      processId: this.processId,
      startedAt: Date.now(),
      httpAddress: `${this.config.advertiseHost}:${this.config.httpPort}`,
      syncAddress: '',
    };
    this.meta = new MetaClient({
      metaAddresses: this.config.meta,
      node,
      slotSettings: { slotCount: this.config.slots, replicas: this.config.replicas, hash: 'crc32c' },
      logger: this.logger,
    });
    this.meta.on('refused', (e) => {
      this.logger.fatal({ code: e.code }, `meta refused this data server: ${e.message}`);
      process.exit(1);
    });
    this.meta.on('slotTable', (t) => this.logger.info({ epoch: t.epoch, leads: t.slots.filter((s) => s.leader === this.selfAddress).length }, 'slot table received'));
    this.meta.on('sessionNodes', (nodes) => this.onSessions(nodes));
    this.meta.start();
    this.compactTimer = setInterval(() => this.store.compactTombstones(Date.now() - this.config.tombstoneTtlMs), 10_000);
    this.logger.info({ grpc: this.selfAddress, http: `${this.config.advertiseHost}:${this.config.httpPort}`, processId: this.processId }, 'data listening');
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'data shutting down');
    clearInterval(this.compactTimer);
    await this.meta?.stop();
    for (const w of this.watchers) w.call.end();
    await this.grpcServer?.shutdown();
  }

  /** Drops the publishers of sessions that meta no longer lists (their lease expired). */
  private onSessions(nodes: NodeInfo[]): void {
    const live = new Set(nodes.map((n) => n.address));
    const changed = this.store.removeWhere((p) => !live.has(p.sessionAddress), Date.now());
    if (changed.size > 0) {
      this.logger.warn({ datums: changed.size, live: [...live] }, 'removed publishers of sessions that left');
      this.notify(changed);
    }
  }

  private leaderOf(dataInfoId: string): { ok: true } | { ok: false; error: ErrorInfo } {
    const table = this.meta.slotTable;
    if (!table) return { ok: false, error: { code: 'NotReady', message: 'data server has no slot table yet', field: '', leader: '' } };
    const slot = table.slots[slotOf(dataInfoId, table.slotCount)];
    if (slot?.leader === this.selfAddress) return { ok: true };
    this.refusedSlot.inc();
    return { ok: false, error: { code: 'SlotMoved', message: `slot ${slot?.id} is led by ${slot?.leader}`, field: '', leader: slot?.leader ?? '' } };
  }

  private write(req: WriteRequest): WriteResponse {
    const now = Date.now();
    const changed = new Map<string, number>();
    const results: WriteResult[] = req.ops.map((op): WriteResult => {
      const w = op.op;
      if (!w) return { ok: false, error: { code: 'InvalidArgument', message: 'empty write', field: 'op', leader: '' } };
      const dataInfoId = w.value.dataInfoId;
      const lead = this.leaderOf(dataInfoId);
      if (!lead.ok) return { ok: false, error: lead.error };
      const outcome =
        w.$case === 'publish'
          ? this.store.publish(w.value, now)
          : this.store.unpublish(dataInfoId, w.value.registerId, w.value, w.value.sessionAddress, now);
      this.writes.inc({ op: w.$case, changed: String(outcome.changed) });
      if (outcome.changed) changed.set(dataInfoId, outcome.version);
      return { ok: true, error: undefined };
    });
    this.notify(changed);
    return { results, slotTableEpoch: this.meta.slotTable?.epoch ?? 0 };
  }

  private clientOff(req: ClientOffRequest): WriteResponse {
    const ids = new Set(req.connectIds);
    const changed = this.store.removeWhere((p) => p.sessionAddress === req.sessionAddress && ids.has(p.connectId), Date.now());
    this.notify(changed);
    return { results: [], slotTableEpoch: this.meta.slotTable?.epoch ?? 0 };
  }

  private getData(req: GetDataRequest): GetDataResponse {
    const res: GetDataResponse = { data: [], errors: [], slotTableEpoch: this.meta.slotTable?.epoch ?? 0 };
    for (const id of req.dataInfoIds.slice(0, MAX_GET_DATA)) {
      const lead = this.leaderOf(id);
      if (!lead.ok) {
        res.errors.push({ dataInfoId: id, error: lead.error });
        continue;
      }
      const e = this.store.get(id);
      const datum: Datum = { dataInfoId: id, version: e?.version ?? 0, publishers: e ? [...e.publishers.values()] : [], dataCenter: this.config.dataCenter };
      res.data.push(datum);
    }
    return res;
  }

  /** Queues version changes for every watching session; flushed once per event-loop turn. */
  private notify(changed: Map<string, number>): void {
    if (changed.size === 0) return;
    for (const w of this.watchers) {
      let full = false;
      for (const [id, v] of changed) full = w.batcher.add(id, v) || full;
      if (full) this.flush(w);
      else if (!w.scheduled) {
        w.scheduled = true;
        setImmediate(() => this.flush(w));
      }
    }
  }

  private flush(w: Watcher): void {
    w.scheduled = false;
    const changes = w.batcher.drain();
    if (changes.length === 0) return;
    this.notified.inc(changes.length);
    w.call.write({ changes, slotTableEpoch: this.meta.slotTable?.epoch ?? 0, dataServer: this.selfAddress });
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
      write: unary((req: WriteRequest) => this.write(req)),
      clientOff: unary((req: ClientOffRequest) => this.clientOff(req)),
      getData: unary((req: GetDataRequest) => this.getData(req)),
      watchChanges: (call: grpc.ServerWritableStream<WatchChangesRequest, DataChangeBatch>) => {
        const w: Watcher = { call, sessionAddress: call.request.sessionAddress, batcher: new ChangeBatcher(MAX_NOTIFY_BATCH), scheduled: false };
        this.watchers.add(w);
        this.logger.info({ session: w.sessionAddress }, 'session watches changes');
        const drop = () => {
          if (this.watchers.delete(w)) this.logger.info({ session: w.sessionAddress }, 'session stopped watching');
        };
        call.on('cancelled', drop);
        call.on('close', drop);
        call.on('error', drop);
      },
    };
  }
}
