import type {
  ClientOffRequest,
  DataChangeBatch,
  GetDataRequest,
  GetDataResponse,
  ReplicateRequest,
  ReplicateResponse,
  SlotSnapshotRequest,
  SlotSnapshotResponse,
  SlotTable,
  WriteRequest,
  WriteResponse,
} from '@sofareg/contracts';
import { ChangeBatcher } from '../change-batcher';
import type { DataServerCore } from '../data-server-core';
import type { Effects, SnapshotTask } from '../effects';
import { DataNodePort, DriverLog, DriverObserver, DriverScheduler, SILENT_LOG } from './data-node-port';
import { DigestRounds } from './digest-rounds';
import type { DriverContext } from './driver-context';
import { ReplicationWaits } from './replication-waits';
import { SlotSyncQueue } from './slot-sync-queue';

/** The driver's bounds and cadences. */
export interface DataNodeDriverOptions {
  /** How long a write waits for its followers before it is acknowledged anyway. */
  replicationWaitMs: number;
  /** How often each led slot is compared with every session. */
  digestIntervalMs: number;
  /** How often expired session leases are collected (the core's `tick`). */
  tickMs: number;
  /** How often tombstones older than `tombstoneTtlMs` are dropped. */
  compactIntervalMs: number;
  tombstoneTtlMs: number;
  /** Publishers per slot page asked of a session while migrating. */
  syncPageSize: number;
  /** Slot pages fetched at once. */
  syncConcurrency: number;
  /** Changes per notification batch to one session. */
  maxNotifyBatch: number;
  /** Pause before pumping again a follower that did not answer or answered "not yet". */
  pumpBackoffMs: number;
}

/** The server's defaults (the configurable ones come from DataConfig). */
export const DEFAULT_DRIVER_OPTIONS: DataNodeDriverOptions = {
  replicationWaitMs: 500,
  digestIntervalMs: 10_000,
  tickMs: 1_000,
  compactIntervalMs: 10_000,
  tombstoneTtlMs: 60_000,
  syncPageSize: 2_000,
  syncConcurrency: 8,
  maxNotifyBatch: 1_000,
  pumpBackoffMs: 200,
};

/** A session's change watch: batches flushed once per turn, or at once when full. */
interface Watcher {
  session: string;
  send: (batch: DataChangeBatch) => void;
  batcher: ChangeBatcher;
  scheduled: boolean;
}

/** A session as meta lists it: its identity and where its sync service listens. */
export interface SessionEndpoint {
  address: string;
  syncAddress: string;
}

/**
 * Drives a {@link DataServerCore}: carries out its effects over one {@link DataNodePort} — slot pages fetched
 * from sessions while migrating (a bounded queue, retried with backoff), snapshots fetched from leaders,
 * ops pumped to each follower (one call in flight), writes held until replicated (bounded), periodic digest
 * repair, change notifications to watching sessions — and answers the data service's requests. Time and timers
 * come from the injected {@link DriverScheduler}. The server and the simulation run this same class.
 */
export class DataNodeDriver {
  private syncAddresses = new Map<string, string>();
  private readonly watchers = new Set<Watcher>();
  private readonly pumping = new Set<string>();
  private readonly waits: ReplicationWaits;
  private readonly syncs: SlotSyncQueue;
  private readonly digests: DigestRounds;
  /** Cancels the periodic timers (one cell each); retries check `stopped` instead. */
  private readonly periodic: (() => void)[] = [];
  private stopped = false;

  constructor(
    readonly core: DataServerCore,
    private readonly port: DataNodePort,
    private readonly scheduler: DriverScheduler,
    private readonly opts: DataNodeDriverOptions = DEFAULT_DRIVER_OPTIONS,
    private readonly log: DriverLog = SILENT_LOG,
    private readonly observer: DriverObserver = {},
  ) {
    const through = (slotId: number) => core.replicatedThrough(slotId);
    this.waits = new ReplicationWaits(scheduler, through, opts.replicationWaitMs, () =>
      observer.replicationWaitTimedOut?.(),
    );
    const ctx: DriverContext = {
      core,
      port,
      scheduler,
      log,
      observer,
      run: (fx) => this.run(fx),
      later: (ms, fn) => this.later(ms, fn),
      stopped: () => this.stopped,
      syncAddressOf: (session) => this.syncAddresses.get(session),
    };
    this.syncs = new SlotSyncQueue(ctx, opts.syncPageSize, opts.syncConcurrency);
    this.digests = new DigestRounds(ctx);
  }

  private get self(): string {
    return this.core.opts.self;
  }

  private get epoch(): number {
    return this.core.slotTable?.epoch ?? 0;
  }

  /** Starts the periodic work: lease expiry, tombstone compaction, digest rounds. */
  start(): void {
    this.every(this.opts.tickMs, () => this.run(this.core.tick(this.scheduler.now())));
    this.every(this.opts.compactIntervalMs, () => this.core.compact(this.scheduler.now() - this.opts.tombstoneTtlMs));
    this.every(this.opts.digestIntervalMs, () => this.digests.round());
  }

  /** Stops every timer and retry; later answers are ignored. Watchers are the caller's to end. */
  stop(): void {
    this.stopped = true;
    for (const cancel of this.periodic) cancel();
    this.watchers.clear();
  }

  private every(ms: number, fn: () => void): void {
    const cell = this.periodic.length;
    const loop = () => {
      if (this.stopped) return;
      fn();
      this.periodic[cell] = this.scheduler.after(ms, loop);
    };
    this.periodic.push(this.scheduler.after(ms, loop));
  }

  /** Runs `fn` after `ms` unless the driver stopped meanwhile. */
  private later(ms: number, fn: () => void): void {
    this.scheduler.after(ms, () => {
      if (!this.stopped) fn();
    });
  }

  // ---- from meta ----

  /** A slot table from meta (older ones are ignored by the core). */
  onSlotTable(table: SlotTable): void {
    this.run(this.core.onSlotTable(table, this.scheduler.now()));
  }

  /** Meta's list of live sessions. */
  onSessionNodes(nodes: readonly SessionEndpoint[]): void {
    this.syncAddresses = new Map(nodes.map((n) => [n.address, n.syncAddress]));
    this.run(
      this.core.onSessions(
        nodes.map((n) => n.address),
        this.scheduler.now(),
      ),
    );
  }

  // ---- requests served ----

  /** A session's write batch; `reply` is called once the ops are replicated, or after the bound. */
  write(req: WriteRequest, reply: (res: WriteResponse) => void): void {
    const { results, fx, seqs } = this.core.write(req.ops, req.slotTableEpoch, this.scheduler.now());
    this.run(fx);
    this.waits.wait(seqs, () => reply({ results, slotTableEpoch: this.epoch, callId: req.callId }));
  }

  /** Removes the publishers of client connections closed at a session. */
  clientOff(req: ClientOffRequest): WriteResponse {
    this.run(this.core.clientOff(req.sessionAddress, new Set(req.connectIds), this.scheduler.now()));
    return { results: [], slotTableEpoch: this.epoch, callId: 0 };
  }

  /** Reads datums (at most `max`); each one unreadable here is answered with its error. */
  getData(req: GetDataRequest, max = Infinity): GetDataResponse {
    const res: GetDataResponse = { data: [], errors: [], slotTableEpoch: this.epoch };
    for (const id of req.dataInfoIds.slice(0, max)) {
      const read = this.core.read(id);
      if ('datum' in read) res.data.push(read.datum);
      else res.errors.push({ dataInfoId: id, error: read.error });
    }
    return res;
  }

  /** Follower side of Replicate. */
  replicate(req: ReplicateRequest): ReplicateResponse {
    const { res, fx } = this.core.onReplicate(req);
    this.run(fx);
    return res;
  }

  /** Leader side of SlotSnapshot (serving one sets the follower's progress, which may release writes). */
  slotSnapshot(req: SlotSnapshotRequest): SlotSnapshotResponse {
    const res = this.core.snapshot(req);
    if (!res.error) this.observer.snapshot?.('served');
    this.waits.release();
    return res;
  }

  /**
   * A session watches changes: `send` gets batches until the returned function is called (it answers whether
   * the watch was still on).
   */
  watch(session: string, send: (batch: DataChangeBatch) => void): () => boolean {
    const watcher: Watcher = { session, send, batcher: new ChangeBatcher(this.opts.maxNotifyBatch), scheduled: false };
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  // ---- effects ----

  private run(fx: Effects): void {
    if (this.stopped) return;
    if (fx.notify.size > 0) this.notify(fx.notify);
    for (const t of fx.sync) this.syncs.push(t);
    for (const t of fx.snapshots) this.fetchSnapshot(t, 0);
    for (const f of fx.replicateTo) this.pump(f);
  }

  /** Queues version changes for every watching session; flushed once per turn, or at once when full. */
  private notify(changed: ReadonlyMap<string, number>): void {
    for (const w of this.watchers) {
      let full = false;
      for (const [id, v] of changed) full = w.batcher.add(id, v) || full;
      if (full) this.flush(w);
      else if (!w.scheduled) {
        w.scheduled = true;
        this.scheduler.soon(() => this.flush(w));
      }
    }
  }

  private flush(w: Watcher): void {
    w.scheduled = false;
    const changes = w.batcher.drain();
    if (changes.length === 0 || !this.watchers.has(w)) return;
    this.observer.notified?.(changes.length);
    w.send({ changes, slotTableEpoch: this.epoch, dataServer: this.self });
  }

  // ---- snapshots ----

  private fetchSnapshot(t: SnapshotTask, attempt: number): void {
    if (this.stopped || !this.core.wantsSnapshot(t)) return;
    const retry = (err: Error) => {
      const delay = Math.min(2_000, 100 * 2 ** Math.min(attempt, 5));
      if (attempt % 10 === 0) {
        this.log.warn({ slot: t.slotId, leader: t.leader, err: err.message }, 'slot snapshot fetch failed; retrying');
      }
      this.later(delay, () => this.fetchSnapshot(t, attempt + 1));
    };
    const req = { slotId: t.slotId, leaderEpoch: t.leaderEpoch, follower: this.self };
    this.port.slotSnapshot(t.leader, req, (res) => {
      if (this.stopped) return;
      if (res instanceof Error) return retry(res);
      if (this.core.onSnapshot(t, res)) this.observer.snapshot?.('installed');
      else if (res.error) retry(new Error(res.error.message));
    });
  }

  // ---- replication ----

  /** Sends ops to one follower until it has them all; one call in flight per follower. */
  private pump(follower: string): void {
    if (this.stopped || this.pumping.has(follower)) return;
    const req = this.core.replicationBatch(follower);
    if (!req) return;
    this.pumping.add(follower);
    const ops = req.slots.reduce((n, s) => n + s.ops.length, 0);
    this.observer.replicateBatch?.(ops);
    this.port.replicate(follower, req, (answer) => {
      if (this.stopped) return;
      if (answer instanceof Error) this.log.debug({ follower, err: answer.message }, 'replication call failed');
      else this.observer.replicated?.(ops);
      const res = answer instanceof Error ? undefined : answer;
      const fx = this.core.onReplicateResponse(follower, req, res);
      this.waits.release();
      this.run({ ...fx, replicateTo: new Set(), backoff: new Set() });
      const again = () => {
        this.pumping.delete(follower);
        this.pump(follower);
      };
      // Back off before retrying a follower that did not answer (meta will evict it if it is dead) or that
      // answered "not yet" (still installing a snapshot); the follower stays busy meanwhile.
      if (!res || fx.backoff.has(follower)) this.later(this.opts.pumpBackoffMs, again);
      else again();
    });
  }
}
