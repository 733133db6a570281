import type {
  ErrorInfo,
  FetchSlotPublishersRequest,
  FetchSlotPublishersResponse,
  Publisher,
  SlotDigestRequest,
  SlotDigestResponse,
  SlotTable,
  WriteResult,
} from '@sofareg/contracts';
import { ErrorCode } from '@sofareg/model';
import type { Logger, Metrics } from '@sofareg/server-kit';
import { SessionRegistry, SlotIndex, SubscriberState, SwitchState, slotDigests, slotPage } from '@sofareg/session-core';
import { DataRouter } from './data-router';
import { PushPipeline, PushPipelineOptions } from './push-pipeline';
import type { Scheduler, SessionPort } from './session-port';

/** How old the slot index may be for a page after the first (a data server pages through one snapshot). */
const PAGE_INDEX_MAX_AGE_MS = 100;
/** How old the slot index may be for a digest (digests say which instant they reflect). */
const DIGEST_INDEX_MAX_AGE_MS = 2_000;
/** Attempts to tell every slot leader of a client-off before digest repair is left to do it. */
const CLIENT_OFF_ATTEMPTS = 20;

/** Who the session is, and how its write path and push pipeline are tuned. */
export interface SessionNodeOptions {
  address: string;
  processId: string;
  zone: string;
  dataCenter: string;
  write: { maxBatch: number; maxInFlight: number; retryForMs: number; maxPending: number };
  push: PushPipelineOptions;
}

/** What a session node works with besides its port. */
export interface SessionNodeDeps {
  port: SessionPort;
  scheduler: Scheduler;
  logger: Logger;
  metrics: Metrics;
  /** The slot table in force (from meta). */
  slotTable: () => SlotTable | undefined;
  /** The switches in force (from meta's provide-data). */
  switches: () => SwitchState;
}

/**
 * A session's decisions over one I/O port: the registry of its clients' publishers and subscribers, writes
 * routed to slot leaders ({@link DataRouter}), datum changes to pushes ({@link PushPipeline}), client-offs told
 * to every leader, and the pages and digests a data server reads to rebuild a slot. Every message it sends
 * goes through {@link SessionPort}; time and randomness come from the {@link Scheduler}. The gRPC server wraps
 * one; a simulation can run one per simulated session over its network.
 */
export class SessionNode {
  readonly registry = new SessionRegistry();
  readonly router: DataRouter;
  readonly pipeline: PushPipeline;
  private readonly index: SlotIndex;
  /**
   * Whether a publisher was added or removed since a page was last served: a page must not come from an index
   * that predates a write, which may have gone to the slot's previous leader.
   */
  private publishersChanged = true;
  private stopped = false;

  constructor(
    readonly options: SessionNodeOptions,
    private readonly d: SessionNodeDeps,
  ) {
    const batchSize = d.metrics.sizeHistogram(
      'session_data_write_batch_ops',
      'ops per Write batch sent to a data server',
    );
    this.router = new DataRouter(
      {
        sessionAddress: options.address,
        sessionProcessId: options.processId,
        dataCenter: options.dataCenter,
        ...options.write,
        logger: d.logger,
        slotTable: d.slotTable,
        onBatch: (ops) => batchSize.observe(ops),
      },
      d.port,
      d.scheduler,
    );
    this.pipeline = new PushPipeline({
      registry: this.registry,
      port: d.port,
      scheduler: d.scheduler,
      router: this.router,
      zone: options.zone,
      logger: d.logger,
      metrics: d.metrics,
      slotTable: d.slotTable,
      switches: d.switches,
      options: options.push,
    });
    this.index = new SlotIndex(
      () => this.registry.allPublishers(),
      () => this.registry.subscribedDataInfoIds(),
      PAGE_INDEX_MAX_AGE_MS,
    );
  }

  start(): void {
    this.pipeline.start();
  }

  /** Stops pushing and fails every write still waiting with `Closed`. */
  stop(): void {
    this.stopped = true;
    this.pipeline.stop();
    this.router.close();
  }

  /** A new slot table from meta: writes waiting for a leader go now, datums are re-read from the new leaders. */
  onSlotTable(table: SlotTable): void {
    this.router.onSlotTable();
    this.pipeline.onSlotTable(table);
  }

  // ---- registrations ----

  /** Why `p` cannot replace the publisher of its registerId (a newer one, or one of another dataInfoId), if so. */
  refusePublish(p: Publisher): ErrorInfo | undefined {
    const prev = this.registry.getPublisher(p.registerId);
    if (!prev || (prev.version <= p.version && prev.dataInfoId === p.dataInfoId)) return undefined;
    const moved = prev.dataInfoId !== p.dataInfoId;
    const why = moved
      ? 'a registerId cannot move to another dataInfoId'
      : `version ${p.version} is older than ${prev.version}`;
    return { code: ErrorCode.InvalidArgument, message: why, field: 'version', leader: '' };
  }

  /**
   * Keeps `p` as its client's current publisher and writes it to its slot leader; resolves with data's answer.
   * Refused (see {@link refusePublish}) without writing.
   */
  publish(p: Publisher): Promise<WriteResult> {
    const refused = this.refusePublish(p);
    if (refused) return Promise.resolve({ ok: false, error: refused });
    this.registry.putPublisher(p);
    this.publishersChanged = true;
    return this.router.write({ op: { $case: 'publish', value: p } }, p.dataInfoId);
  }

  /** Removes a publisher `connectId` owns, here and at its slot leader; ok at once when it holds none. */
  unpublish(registerId: string, connectId: string, version: number): Promise<WriteResult> {
    const p = this.registry.removePublisher(registerId, connectId);
    this.publishersChanged ||= p !== undefined;
    if (!p) return Promise.resolve({ ok: true, error: undefined });
    const value = {
      dataInfoId: p.dataInfoId,
      registerId,
      version: Math.max(version, p.version),
      registerTimestamp: this.d.scheduler.now(),
      sessionAddress: this.options.address,
    };
    return this.router.write({ op: { $case: 'unpublish', value } }, p.dataInfoId);
  }

  /**
   * Keeps a subscriber and pushes it what is known of its dataInfoId (from the cache, else after a fetch).
   * `accepted` runs in between, so a client is answered before its first push.
   */
  subscribe(
    s: Pick<SubscriberState, 'registerId' | 'dataInfoId' | 'connectId' | 'scope' | 'clientIp'>,
    accepted?: (s: SubscriberState) => void,
  ): SubscriberState {
    const state = this.registry.putSubscriber(s);
    accepted?.(state);
    this.pipeline.onSubscribe(state);
    return state;
  }

  /** Removes a subscriber `connectId` owns. */
  unsubscribe(registerId: string, connectId: string): void {
    this.registry.removeSubscriber(registerId, connectId);
  }

  /** A client acknowledged push `pushId` on `connectId`. */
  pushAck(pushId: number, connectId: string): void {
    this.pipeline.onPushAck(pushId, connectId);
  }

  /**
   * A client connection closed: its registrations go, and (with `tellData`) every slot leader is told to drop
   * its publishers. Returns how many of each it had.
   */
  connectionClosed(connectId: string, tellData = true): { publishers: number; subscribers: number } {
    const { publishers, subscribers } = this.registry.removeConnection(connectId);
    this.publishersChanged ||= publishers.length > 0;
    this.pipeline.onConnectionClosed(connectId);
    if (publishers.length > 0 && tellData && !this.stopped) void this.clientOff([connectId]);
    return { publishers: publishers.length, subscribers: subscribers.length };
  }

  /** Removes the publishers of open connections (their subscribers stay), here and at data. Returns how many. */
  removePublishersOf(connectIds: readonly string[]): number {
    let removed = 0;
    for (const id of connectIds) removed += this.registry.removePublishersOf(id).length;
    this.publishersChanged ||= removed > 0;
    if (connectIds.length > 0) void this.clientOff(connectIds);
    return removed;
  }

  /** Tells every slot leader to drop the publishers of `connectIds`, retrying until each has answered. */
  private async clientOff(connectIds: readonly string[], attempt = 0): Promise<void> {
    const leaders = this.router.leaders();
    const failed: string[] = [];
    const req = {
      sessionAddress: this.options.address,
      slotTableEpoch: this.d.slotTable()?.epoch ?? 0,
      connectIds: [...connectIds],
    };
    await Promise.all(
      leaders.map(async (leader) => {
        try {
          await this.d.port.clientOff(leader, req);
        } catch {
          failed.push(leader);
        }
      }),
    );
    if ((failed.length === 0 && leaders.length > 0) || this.stopped) return;
    if (attempt < CLIENT_OFF_ATTEMPTS) {
      this.d.scheduler.after(Math.min(2_000, 100 * 2 ** attempt), () => void this.clientOff(connectIds, attempt + 1));
      return;
    }
    const ctx = { connections: connectIds.length, leaders: failed };
    this.d.logger.error(ctx, 'client-off not confirmed by every data leader; digest repair removes the rest');
  }

  // ---- served to data servers rebuilding or checking a slot ----

  /** A page of one slot's publishers (see {@link slotPage}); the requester leads the slot from now on. */
  fetchSlotPublishers(req: FetchSlotPublishersRequest): FetchSlotPublishersResponse {
    // From now on, writes and reads of this slot go to the requester: what it reads here plus what is
    // written to it afterwards is everything. A new hint means writes went to the old leader until now:
    // read afresh, not from a cached index.
    const rerouted = this.router.hintLeader(req.slotId, req.slotTableEpoch, req.requester);
    // So does an index older than a publisher change: that write went wherever the slot was routed then.
    const { at, bySlot } = this.index.get(req.slotCount, this.d.scheduler.now(), rerouted || this.publishersChanged);
    this.publishersChanged = false;
    const content = bySlot.get(req.slotId) ?? new Map<string, Publisher[]>();
    return slotPage(content, req, (id) => this.pipeline.sentVersion(id), this.options.processId, at);
  }

  /** Per dataInfoId of one slot: count and hash of this session's publishers. */
  slotDigest(req: SlotDigestRequest): SlotDigestResponse {
    // Data compares only what it held by the digest's instant: an index a couple of seconds old serves every
    // slot of a digest round without rescanning all publishers per slot.
    const { at, bySlot } = this.index.get(req.slotCount, this.d.scheduler.now(), false, DIGEST_INDEX_MAX_AGE_MS);
    const content = bySlot.get(req.slotId) ?? new Map<string, Publisher[]>();
    return { digests: slotDigests(content), sessionProcessId: this.options.processId, snapshotTime: at };
  }
}
