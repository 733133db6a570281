import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  ClientOffRequest,
  DataChangeBatch,
  DataServiceClient,
  DataServiceService,
  GetDataRequest,
  GetDataResponse,
  NodeInfo,
  ReplicateRequest,
  ReplicateResponse,
  SessionSyncServiceClient,
  SlotSnapshotRequest,
  SlotSnapshotResponse,
  SlotTable,
  WatchChangesRequest,
  WriteRequest,
  WriteResponse,
} from '@sofareg/contracts';
import { CONFIG, ClientPool, GrpcServerHandle, LOGGER, Logger, METRICS, MetaClient, Metrics, Readiness, ServedStream, StreamCallers, callUnary, grpc, serveStreamCalls, startGrpcServer } from '@sofareg/server-kit';
import { randomUUID } from 'node:crypto';
import { ChangeBatcher, DataServerCore, Effects, SnapshotTask, SyncTask } from '@sofareg/data-core';
import { DataConfig } from './data-config';

const MAX_NOTIFY_BATCH = 1_000;
const MAX_GET_DATA = 1_000;
const SYNC_PAGE = 2_000;
const SYNC_CONCURRENCY = 8;
/** How long one Replicate batch may wait for the follower before the pump retries it. */
const REPLICATE_TIMEOUT_MS = 5_000;

interface Watcher {
  call: grpc.ServerWritableStream<WatchChangesRequest, DataChangeBatch>;
  sessionAddress: string;
  batcher: ChangeBatcher;
  scheduled: boolean;
}

interface ReplicationWait {
  slotId: number;
  seq: number;
  resolve: () => void;
}

/**
 * The data server's shell: gRPC in and out, timers, and the effects of {@link DataServerCore} carried out —
 * change notifications to sessions, slot pages fetched from sessions while migrating, snapshots fetched
 * from leaders, ops replicated to followers, periodic digest repair.
 */
@Injectable()
export class DataService implements OnApplicationBootstrap, OnApplicationShutdown, Readiness {
  readonly processId = randomUUID();
  readonly core: DataServerCore;
  private grpcServer: GrpcServerHandle | undefined;
  private meta!: MetaClient;
  private readonly peers = new ClientPool(DataServiceClient);
  /** Write and Replicate streams served here, ended on shutdown so the server stops at once. */
  private readonly served = new Set<ServedStream>();
  /** One Replicate stream per follower. */
  private readonly replicators = new StreamCallers<DataServiceClient, ReplicateRequest, ReplicateResponse>(this.peers, (c) => c.replicate(), REPLICATE_TIMEOUT_MS);
  private readonly sessionsSync = new ClientPool(SessionSyncServiceClient);
  private syncAddresses = new Map<string, string>();
  private readonly watchers = new Set<Watcher>();
  private readonly pumping = new Set<string>();
  private readonly waits: ReplicationWait[] = [];
  private readonly syncQueue: { task: SyncTask; attempt: number }[] = [];
  private syncRunning = 0;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private readonly m;

  constructor(
    @Inject(CONFIG) private readonly config: DataConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: Metrics,
  ) {
    this.core = new DataServerCore({ self: this.selfAddress, dataCenter: config.dataCenter, maxLogPerSlot: 20_000, maxOpsPerSlot: 2_000, sessionGraceMs: config.sessionGraceMs });
    const writes = metrics.counter('data_writes_total', 'write ops answered', ['result']);
    this.m = {
      writes,
      // The hot path's label set, resolved once.
      writesOk: writes.labels({ result: 'ok' }),
      notified: metrics.counter('data_change_notifications_total', 'datum changes sent to sessions'),
      replicated: metrics.counter('data_replicated_ops_total', 'ops sent to followers'),
      replicateBatch: metrics.sizeHistogram('data_replicate_batch_ops', 'ops per Replicate batch sent to a follower'),
      writeBatch: metrics.sizeHistogram('data_write_batch_ops', 'ops per Write batch received from a session'),
      replicationTimeouts: metrics.counter('data_replication_wait_timeouts_total', 'writes acknowledged before every follower had them'),
      syncPages: metrics.counter('data_sync_pages_total', 'slot pages fetched from sessions', ['result']),
      snapshots: metrics.counter('data_snapshots_total', 'slot snapshots installed or served', ['kind']),
      repairs: metrics.counter('data_digest_repairs_total', 'dataInfoIds repaired after a digest mismatch'),
    };
    const core = this.core;
    metrics.gauge('data_publishers', 'publishers held (leader and follower replicas)', [], function () {
      this.set(core.publisherCount);
    });
    metrics.gauge('data_slots', 'slots held by role and status', ['status'], function () {
      this.reset();
      for (const s of core.slots.values()) this.inc({ status: s.status });
    });
  }

  get selfAddress(): string {
    return (this.address ??= `${this.config.advertiseHost}:${this.config.port}`);
  }
  private address: string | undefined;

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
    this.meta.on('slotTable', (t) => {
      this.run(this.core.onSlotTable(t, Date.now()));
      const leads = [...this.core.slots.values()].filter((s) => s.role === 'leader').length;
      this.logger.info({ epoch: t.epoch, leads, follows: this.core.slots.size - leads }, 'slot table applied');
    });
    this.meta.on('sessionNodes', (nodes) => {
      this.syncAddresses = new Map(nodes.map((n) => [n.address, n.syncAddress]));
      this.run(this.core.onSessions(nodes.map((n) => n.address), Date.now()));
    });
    this.meta.start();
    this.timers.push(setInterval(() => this.core.compact(Date.now() - this.config.tombstoneTtlMs), 10_000));
    this.timers.push(setInterval(() => this.run(this.core.tick(Date.now())), 1_000));
    this.timers.push(setInterval(() => void this.digestRound(), this.config.digestIntervalMs));
    this.logger.info({ grpc: this.selfAddress, http: `${this.config.advertiseHost}:${this.config.httpPort}`, processId: this.processId }, 'data listening');
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'data shutting down');
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.meta?.stop();
    for (const w of this.watchers) w.call.end();
    for (const s of this.served) s.end();
    await this.grpcServer?.shutdown();
    this.replicators.closeAll();
    this.peers.closeAll();
    this.sessionsSync.closeAll();
  }

  // ---- effects ----

  private run(fx: Effects): void {
    if (fx.notify.size > 0) this.notify(fx.notify);
    for (const t of fx.sync) this.queueSync(t);
    for (const t of fx.snapshots) void this.fetchSnapshot(t, 0);
    for (const f of fx.replicateTo) void this.pump(f);
  }

  /** Queues version changes for every watching session; flushed once per event-loop turn. */
  private notify(changed: Map<string, number>): void {
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
    this.m.notified.inc(changes.length);
    w.call.write({ changes, slotTableEpoch: this.core.slotTable?.epoch ?? 0, dataServer: this.selfAddress });
  }

  // ---- migration from sessions ----

  private queueSync(task: SyncTask, attempt = 0): void {
    this.syncQueue.push({ task, attempt });
    this.drainSync();
  }

  private drainSync(): void {
    while (this.syncRunning < SYNC_CONCURRENCY && this.syncQueue.length > 0) {
      const next = this.syncQueue.shift() as { task: SyncTask; attempt: number };
      this.syncRunning++;
      void this.syncPage(next.task, next.attempt).finally(() => {
        this.syncRunning--;
        this.drainSync();
      });
    }
  }

  private async syncPage(t: SyncTask, attempt: number): Promise<void> {
    if (this.stopped || !this.core.wantsSync(t)) return;
    const address = this.syncAddresses.get(t.session);
    const table = this.core.slotTable;
    try {
      if (!address || !table) throw new Error(`no sync address for session ${t.session}`);
      const client = this.sessionsSync.get(address);
      const page = await callUnary(client, client.fetchSlotPublishers, {
        slotId: t.slotId,
        slotTableEpoch: table.epoch,
        afterDataInfoId: t.after,
        maxPublishers: SYNC_PAGE,
        dataInfoIds: [],
        slotCount: table.slotCount,
        requester: this.selfAddress,
      }, 10_000);
      this.m.syncPages.inc({ result: 'ok' });
      const fx = this.core.onSyncPage(t, page, Date.now());
      if (page.done && this.core.slots.get(t.slotId)?.status === 'Accept') this.logger.debug({ slot: t.slotId, session: t.session }, 'slot synced from session');
      this.run(fx);
    } catch (err) {
      this.m.syncPages.inc({ result: 'error' });
      const delay = Math.min(2_000, 50 * 2 ** Math.min(attempt, 6));
      if (attempt % 10 === 0) this.logger.warn({ slot: t.slotId, session: t.session, err: (err as Error).message, attempt }, 'slot sync from session failed; retrying');
      setTimeout(() => this.queueSync(t, attempt + 1), delay).unref();
    }
  }

  // ---- snapshots ----

  private async fetchSnapshot(t: SnapshotTask, attempt: number): Promise<void> {
    if (this.stopped || !this.core.wantsSnapshot(t)) return;
    try {
      const client = this.peers.get(t.leader);
      const res = await callUnary(client, client.slotSnapshot, { slotId: t.slotId, leaderEpoch: t.leaderEpoch, follower: this.selfAddress }, 30_000);
      if (this.core.onSnapshot(t, res)) {
        this.m.snapshots.inc({ kind: 'installed' });
        return;
      }
      if (!res.error) return;
      throw new Error(res.error.message);
    } catch (err) {
      const delay = Math.min(2_000, 100 * 2 ** Math.min(attempt, 5));
      if (attempt % 10 === 0) this.logger.warn({ slot: t.slotId, leader: t.leader, err: (err as Error).message }, 'slot snapshot fetch failed; retrying');
      setTimeout(() => void this.fetchSnapshot(t, attempt + 1), delay).unref();
    }
  }

  // ---- replication ----

  /** Sends ops to one follower until it has them all; one call in flight per follower. */
  private async pump(follower: string): Promise<void> {
    if (this.pumping.has(follower) || this.stopped) return;
    this.pumping.add(follower);
    try {
      for (;;) {
        if (this.stopped) return;
        const req = this.core.replicationBatch(follower);
        if (!req) return;
        let res: ReplicateResponse | undefined;
        try {
          const ops = req.slots.reduce((n, s) => n + s.ops.length, 0);
          this.m.replicateBatch.observe(ops);
          res = await this.replicators.get(follower).call(req);
          this.m.replicated.inc(ops);
        } catch (err) {
          this.logger.debug({ follower, err: (err as Error).message }, 'replication call failed');
        }
        const fx = this.core.onReplicateResponse(follower, req, res);
        this.releaseWaits();
        this.run({ ...fx, replicateTo: new Set(), backoff: new Set() });
        if (!res || fx.backoff.has(follower)) {
          // Back off before retrying a follower that did not answer (meta will evict it if it is dead) or that
          // answered "not yet" (still installing a snapshot).
          await new Promise((r) => setTimeout(r, 200).unref());
        }
      }
    } finally {
      this.pumping.delete(follower);
    }
  }

  private releaseWaits(): void {
    for (let i = this.waits.length - 1; i >= 0; i--) {
      const w = this.waits[i];
      if (this.core.replicatedThrough(w.slotId) >= w.seq) {
        this.waits.splice(i, 1);
        w.resolve();
      }
    }
  }

  /** Resolves once every follower has the given ops, or after the bound (the session holds the truth anyway). */
  private awaitReplication(seqs: Map<number, number>): Promise<void> {
    const pending = [...seqs].filter(([slotId, seq]) => this.core.replicatedThrough(slotId) < seq);
    if (pending.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let left = pending.length;
      const timer = setTimeout(() => {
        this.m.replicationTimeouts.inc();
        for (const w of mine) {
          const i = this.waits.indexOf(w);
          if (i >= 0) this.waits.splice(i, 1);
        }
        resolve();
      }, this.config.replicationWaitMs);
      const mine: ReplicationWait[] = pending.map(([slotId, seq]) => ({
        slotId,
        seq,
        resolve: () => {
          if (--left === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      }));
      this.waits.push(...mine);
    });
  }

  // ---- digest repair ----

  private async digestRound(): Promise<void> {
    const table = this.core.slotTable;
    const sessions = this.core.liveSessions;
    if (!table || !sessions || this.stopped) return;
    for (const slot of [...this.core.slots.values()]) {
      if (slot.role !== 'leader' || slot.status !== 'Accept') continue;
      for (const session of sessions) {
        const address = this.syncAddresses.get(session);
        if (!address) continue;
        try {
          const client = this.sessionsSync.get(address);
          const theirs = await callUnary(client, client.slotDigest, { slotId: slot.id, slotTableEpoch: table.epoch, slotCount: table.slotCount }, 5_000);
          const differ = this.core.digestDiff(slot.id, session, theirs);
          if (differ.size === 0) continue;
          const task: SyncTask = { session, slotId: slot.id, leaderEpoch: slot.leaderEpoch, after: '' };
          const page = await callUnary(client, client.fetchSlotPublishers, { slotId: slot.id, slotTableEpoch: table.epoch, afterDataInfoId: '', maxPublishers: 0, dataInfoIds: [...differ], slotCount: table.slotCount, requester: this.selfAddress }, 10_000);
          this.m.repairs.inc(differ.size);
          this.logger.info({ slot: slot.id, session, dataInfoIds: differ.size }, 'digest differs; repairing from session');
          this.run(this.core.onSyncPage(task, page, Date.now(), differ));
        } catch (err) {
          this.logger.debug({ slot: slot.id, session, err: (err as Error).message }, 'digest comparison failed');
        }
      }
    }
  }

  // ---- gRPC ----

  private async write(req: WriteRequest): Promise<WriteResponse> {
    const { results, fx, seqs } = this.core.write(req.ops, req.slotTableEpoch, Date.now());
    let ok = 0;
    for (const r of results) {
      if (r.ok) ok++;
      else this.m.writes.inc({ result: r.error?.code ?? 'error' });
    }
    if (ok > 0) this.m.writesOk.inc(ok);
    this.run(fx);
    await this.awaitReplication(seqs);
    return { results, slotTableEpoch: this.core.slotTable?.epoch ?? 0, callId: req.callId };
  }

  private getData(req: GetDataRequest): GetDataResponse {
    const res: GetDataResponse = { data: [], errors: [], slotTableEpoch: this.core.slotTable?.epoch ?? 0 };
    for (const id of req.dataInfoIds.slice(0, MAX_GET_DATA)) {
      const r = this.core.read(id);
      if ('datum' in r) res.data.push(r.datum);
      else res.errors.push({ dataInfoId: id, error: r.error });
    }
    return res;
  }

  private grpcImplementation(): grpc.UntypedServiceImplementation {
    const unary =
      <Req, Res>(fn: (req: Req) => Res | Promise<Res>) =>
      (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
        Promise.resolve()
          .then(() => fn(call.request))
          .then(
            (res) => cb(null, res),
            (err: Error) => {
              this.logger.error({ err }, 'data call failed');
              cb({ code: grpc.status.INTERNAL, details: err.message });
            },
          );
      };
    const serve = <Req extends { callId: number }, Res extends { callId: number }>(
      call: grpc.ServerDuplexStream<Req, Res>,
      handle: (req: Req) => Res | Promise<Res>,
      onError: (req: Req, err: Error) => Res,
    ) => {
      const s = serveStreamCalls(call, handle, onError);
      this.served.add(s);
      void s.closed.then(() => this.served.delete(s));
    };
    const failed = (what: string) => (err: Error) => {
      this.logger.error({ err }, `${what} failed`);
      return { code: 'Internal', message: err.message, field: '', leader: '' };
    };
    return {
      write: (call: grpc.ServerDuplexStream<WriteRequest, WriteResponse>) =>
        serve(
          call,
          (req) => {
            this.m.writeBatch.observe(req.ops.length);
            return this.write(req);
          },
          (req, err) => {
            const error = failed('write')(err);
            return { results: req.ops.map(() => ({ ok: false, error })), slotTableEpoch: this.core.slotTable?.epoch ?? 0, callId: req.callId };
          },
        ),
      clientOff: unary((req: ClientOffRequest): WriteResponse => {
        this.run(this.core.clientOff(req.sessionAddress, new Set(req.connectIds), Date.now()));
        return { results: [], slotTableEpoch: this.core.slotTable?.epoch ?? 0, callId: 0 };
      }),
      getData: unary((req: GetDataRequest) => this.getData(req)),
      replicate: (call: grpc.ServerDuplexStream<ReplicateRequest, ReplicateResponse>) =>
        serve(
          call,
          (req) => {
            const { res, fx } = this.core.onReplicate(req);
            this.run(fx);
            return res;
          },
          (req, err) => {
            const error = failed('replicate')(err);
            return { slots: req.slots.map((so) => ({ slotId: so.slotId, ok: false, nextSeq: 0, error })), callId: req.callId };
          },
        ),
      slotSnapshot: unary((req: SlotSnapshotRequest): SlotSnapshotResponse => {
        const res = this.core.snapshot(req);
        if (!res.error) this.m.snapshots.inc({ kind: 'served' });
        this.releaseWaits();
        return res;
      }),
      watchChanges: (call: grpc.ServerWritableStream<WatchChangesRequest, DataChangeBatch>) => {
        const w: Watcher = { call, sessionAddress: call.request.sessionAddress, batcher: new ChangeBatcher(MAX_NOTIFY_BATCH), scheduled: false };
        this.watchers.add(w);
        call.sendMetadata(new grpc.Metadata());
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
