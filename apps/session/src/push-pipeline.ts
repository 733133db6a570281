import { DataChangeBatch, Datum, SlotTable } from '@sofareg/contracts';
import { Logger, Metrics, grpc } from '@sofareg/server-kit';
import { ClientConnection } from './client-connection';
import { planPushes } from './core/push-plan';
import { SessionRegistry, SubscriberState } from './core/session-registry';
import { DataRouter } from './data-router';

const FETCH_BATCH = 500;

/** What the push pipeline works with. */
export interface PushPipelineDeps {
  registry: SessionRegistry;
  connections: ReadonlyMap<string, ClientConnection>;
  router: DataRouter;
  sessionAddress: string;
  sessionProcessId: string;
  zone: string;
  logger: Logger;
  metrics: Metrics;
  slotTable: () => SlotTable | undefined;
}

/**
 * From datum changes to client pushes. Listens to every data server's change stream, fetches each changed
 * datum once (only for dataInfoIds with subscribers here), and pushes it to every subscriber that has not
 * been sent its version: one push per connection and scope. Pushes are acknowledged by the client.
 */
export class PushPipeline {
  private readonly datums = new Map<string, Datum>();
  private readonly watches = new Map<string, grpc.ClientReadableStream<DataChangeBatch>>();
  private readonly fetchWanted = new Set<string>();
  private readonly fetching = new Set<string>();
  private fetchScheduled = false;
  private fetchRetry: NodeJS.Timeout | undefined;
  private pushSeq = 0;
  private readonly pendingPushes = new Map<number, { connectId: string; registerIds: string[]; version: number }>();
  private stopped = false;
  private readonly pushes;

  constructor(private readonly d: PushPipelineDeps) {
    this.pushes = d.metrics.counter('session_pushes_total', 'pushes sent to clients');
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.fetchRetry);
    for (const w of this.watches.values()) w.cancel();
    this.watches.clear();
  }

  /** Follows the data servers of a new slot table, and re-reads what subscribers need (leaders may have moved). */
  onSlotTable(table: SlotTable): void {
    const servers = new Set(table.slots.map((s) => s.leader).filter(Boolean));
    for (const [address, call] of this.watches) {
      if (!servers.has(address)) {
        this.watches.delete(address);
        call.cancel();
      }
    }
    for (const address of servers) if (!this.watches.has(address)) this.watch(address);
    this.refetchAll();
  }

  /** A new subscriber: pushed at once from the cache, else after a fetch (empty when nothing is published). */
  onSubscribe(s: SubscriberState): void {
    const cached = this.datums.get(s.dataInfoId);
    if (cached) this.push(cached, [s]);
    else this.wantFetch(s.dataInfoId);
  }

  /** A client acknowledged a push. */
  onPushAck(pushId: number): void {
    const p = this.pendingPushes.get(pushId);
    if (!p) return;
    this.pendingPushes.delete(pushId);
    for (const id of p.registerIds) {
      const s = this.d.registry.getSubscriber(id);
      if (s && s.ackedVersion < p.version) s.ackedVersion = p.version;
    }
  }

  /** Forgets the pushes awaiting acknowledgement from a closed connection. */
  onConnectionClosed(connectId: string): void {
    for (const [pushId, p] of this.pendingPushes) if (p.connectId === connectId) this.pendingPushes.delete(pushId);
  }

  private watch(address: string): void {
    const client = this.d.router.pool.get(address);
    const call = client.watchChanges({ sessionAddress: this.d.sessionAddress, sessionProcessId: this.d.sessionProcessId });
    this.watches.set(address, call);
    call.on('data', (batch: DataChangeBatch) => {
      for (const c of batch.changes) this.onChange(c.dataInfoId, c.version);
    });
    // The stream is up: anything that changed while it was down is caught by re-reading.
    call.on('metadata', () => this.refetchAll());
    const again = (why: string) => {
      if (this.watches.get(address) !== call || this.stopped) return;
      this.watches.delete(address);
      this.d.logger.warn({ data: address, why }, 'change stream from data ended; reopening');
      setTimeout(() => {
        const t = this.d.slotTable();
        if (!this.stopped && !this.watches.has(address) && t?.slots.some((s) => s.leader === address)) this.watch(address);
      }, 300);
    };
    call.on('error', (err) => again(err.message));
    call.on('end', () => again('end'));
  }

  private onChange(dataInfoId: string, version: number): void {
    if (!this.d.registry.subscribersOf(dataInfoId)) {
      this.datums.delete(dataInfoId);
      return;
    }
    const cached = this.datums.get(dataInfoId);
    if (cached && cached.version >= version) return;
    this.wantFetch(dataInfoId);
  }

  private refetchAll(): void {
    for (const id of this.d.registry.subscribedDataInfoIds()) this.wantFetch(id);
  }

  private wantFetch(dataInfoId: string): void {
    this.fetchWanted.add(dataInfoId);
    if (!this.fetchScheduled) {
      this.fetchScheduled = true;
      setImmediate(() => this.runFetches());
    }
  }

  private runFetches(): void {
    this.fetchScheduled = false;
    const ids: string[] = [];
    for (const id of this.fetchWanted) {
      if (this.fetching.has(id)) continue; // asked again when the running fetch ends
      this.fetchWanted.delete(id);
      ids.push(id);
    }
    for (let i = 0; i < ids.length; i += FETCH_BATCH) void this.fetchBatch(ids.slice(i, i + FETCH_BATCH));
  }

  private async fetchBatch(ids: string[]): Promise<void> {
    for (const id of ids) this.fetching.add(id);
    let result: { data: Datum[]; failed: string[] };
    try {
      result = await this.d.router.fetch(ids);
    } finally {
      for (const id of ids) this.fetching.delete(id);
    }
    for (const datum of result.data) this.onDatum(datum);
    if (result.failed.length > 0 && !this.stopped) {
      // Slots moving or a data server restarting: try again shortly.
      clearTimeout(this.fetchRetry);
      for (const id of result.failed) this.fetchWanted.add(id);
      this.fetchRetry = setTimeout(() => this.runFetches(), 200);
    }
    if (this.fetchWanted.size > 0 && !this.fetchScheduled) {
      this.fetchScheduled = true;
      setImmediate(() => this.runFetches());
    }
  }

  private onDatum(datum: Datum): void {
    const subscribers = this.d.registry.subscribersOf(datum.dataInfoId);
    if (!subscribers) {
      this.datums.delete(datum.dataInfoId);
      return;
    }
    const cached = this.datums.get(datum.dataInfoId);
    if (cached && cached.version > datum.version) return;
    this.datums.set(datum.dataInfoId, datum);
    this.push(datum, subscribers.values());
  }

  private push(datum: Datum, subscribers: Iterable<SubscriberState>): void {
    const plans = planPushes(subscribers, datum.publishers, datum.version, this.d.zone);
    for (const plan of plans) {
      const conn = this.d.connections.get(plan.connectId);
      if (!conn) continue;
      const pushId = ++this.pushSeq;
      const zoneData: Record<string, { dataList: string[] }> = {};
      for (const [zone, list] of Object.entries(plan.data.zoneData)) zoneData[zone] = { dataList: list };
      const sent = conn.send({
        body: { $case: 'push', value: { pushId, dataInfoId: datum.dataInfoId, registerIds: plan.registerIds, data: { zoneData, localZone: plan.data.localZone, version: datum.version } } },
      });
      if (!sent) continue;
      this.pushes.inc();
      this.pendingPushes.set(pushId, { connectId: plan.connectId, registerIds: plan.registerIds, version: datum.version });
      for (const id of plan.registerIds) {
        const s = this.d.registry.getSubscriber(id);
        if (s && s.pushedVersion < datum.version) s.pushedVersion = datum.version;
      }
    }
  }
}
