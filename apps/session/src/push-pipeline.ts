import { DataChangeBatch, Datum, SlotTable } from '@sofareg/contracts';
import { Logger, Metrics, grpc } from '@sofareg/server-kit';
import { ClientConnection } from './client-connection';
import { ChangeDecision, ChangeWindow, ChangeWindowOptions } from './core/change-window';
import { contentKey, planPushes } from './core/push-plan';
import { PushRetryPolicy, breakerOpened, deliveryGate, readyAt, recordFailure, recordSuccess } from './core/push-retry';
import { SessionRegistry, SubscriberState } from './core/session-registry';
import { SwitchState, mayPush } from './core/switches';
import type { Scope } from '@sofareg/model';
import { DataRouter } from './data-router';

/** dataInfoIds per GetData call. */
const FETCH_BATCH = 500;
/** How often acknowledgement deadlines, retries and the batching window are looked at. */
const TICK_MS = 50;
/** Wait before re-reading datums whose slot leader did not answer. */
const FETCH_RETRY_MS = 200;

/** Tuning of the push pipeline. */
export interface PushPipelineOptions {
  retry: PushRetryPolicy;
  window: ChangeWindowOptions;
  /** Period of the version scan (0: off). */
  scanIntervalMs: number;
}

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
  /** The switches in force (stop-push, gray-open). */
  switches: () => SwitchState;
  options: PushPipelineOptions;
}

interface PendingPush {
  readonly connectId: string;
  readonly dataInfoId: string;
  readonly registerIds: string[];
  readonly version: number;
  readonly sentAt: number;
}

/**
 * From datum changes to client pushes.
 *
 * - Listens to every slot leader's change stream. A change of a dataInfoId with subscribers here goes through
 *   the adaptive batching window ({@link ChangeWindow}): fetched at once when quiet, merged (at most
 *   `window.maxDelayMs`) in a storm; at most one fetch per dataInfoId at a time, batched per leader.
 * - Each fetched datum is cached and pushed to every subscriber not yet sent (nor acknowledged) its version:
 *   one push per client connection and scope serves all of that connection's subscribers of the dataInfoId.
 * - A subscriber's acknowledged version advances only on the client's ack. A push not acknowledged within
 *   `retry.ackTimeoutMs` fails: it is retried from the cache with bounded backoff, for as long as the
 *   subscriber is behind; `retry.breakerFailures` failures in a row silence it for `retry.breakerOpenMs`.
 * - Nothing is pushed to a client that the switches hold (stop-push, outside gray-open); {@link resume} pushes
 *   everything outstanding when they let go.
 * - A change stream that reconnects, a new slot table, and a periodic version scan re-read datums, so a
 *   missed notification is repaired.
 */
export class PushPipeline {
  private readonly datums = new Map<string, Datum>();
  /**
   * Per dataInfoId and view (`zone`, or every zone for `dataCenter`/`global`): the lowest cached version since
   * which that view's addresses are unchanged. A subscriber that acknowledged (or was sent) that version or a
   * later one already holds what a newer version would show, and is not pushed it.
   */
  private readonly contentSince = new Map<string, { zone?: { version: number; key: string }; all?: { version: number; key: string } }>();
  /** The highest datum version sent to any subscriber of each dataInfoId (never lowered while it has subscribers). */
  private readonly maxSent = new Map<string, number>();
  private readonly watches = new Map<string, grpc.ClientReadableStream<DataChangeBatch>>();
  private readonly window: ChangeWindow;
  private readonly toFetch = new Set<string>();
  private fetchScheduled = false;
  private readonly fetchRetryIds = new Set<string>();
  private fetchRetryTimer: NodeJS.Timeout | undefined;
  private readonly retryIds = new Map<string, number>();
  private pushSeq = 0;
  private readonly pending = new Map<number, PendingPush>();
  private tickTimer: NodeJS.Timeout | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private scanning = false;
  private lastPrune = 0;
  private prunes = 0;
  private stopped = false;
  private readonly m;

  constructor(private readonly d: PushPipelineDeps) {
    this.window = new ChangeWindow(d.options.window);
    const { metrics } = d;
    this.m = {
      pushes: metrics.counter('session_pushes_total', 'pushes sent to clients (one per connection, dataInfoId and scope)'),
      pushedSubscribers: metrics.counter('session_pushed_subscribers_total', 'subscribers served by pushes'),
      pushFailures: metrics.counter('session_push_failures_total', 'pushes that failed', ['reason']),
      breakerOpens: metrics.counter('session_push_breaker_opens_total', 'subscribers silenced by the push circuit breaker'),
      held: metrics.counter('session_pushes_held_total', 'pushes held back by stop-push'),
      fetches: metrics.counter('session_datum_fetches_total', 'datums fetched from data', ['cause']),
      fetchFailures: metrics.counter('session_datum_fetch_failures_total', 'datums a slot leader did not serve'),
      merged: metrics.counter('session_changes_merged_total', 'change notifications merged into a pending fetch'),
      ackLatency: metrics.histogram('session_push_ack_seconds', 'push sent to acknowledged by the client'),
      scanRepairs: metrics.counter('session_scan_repairs_total', 'datums the version scan found newer than the cache'),
      unchanged: metrics.counter('session_pushes_unchanged_total', 'subscribers not pushed a new version because what they would see is unchanged'),
    };
    const pending = this.pending;
    metrics.gauge('session_pushes_pending', 'pushes awaiting acknowledgement', [], function () {
      this.set(pending.size);
    });
    const registry = d.registry;
    metrics.gauge('session_subscribers_silenced', 'subscribers silenced by the push circuit breaker', [], function () {
      let n = 0;
      const now = Date.now();
      for (const id of registry.subscribedDataInfoIds()) for (const s of registry.subscribersOf(id)?.values() ?? []) if (s.silencedUntil > now) n++;
      this.set(n);
    });
  }

  /** Starts the timers (acknowledgement deadlines, retries, the version scan). */
  start(): void {
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    this.tickTimer.unref();
    if (this.d.options.scanIntervalMs > 0) {
      this.scanTimer = setInterval(() => void this.scan(), this.d.options.scanIntervalMs);
      this.scanTimer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.tickTimer);
    clearInterval(this.scanTimer);
    clearTimeout(this.fetchRetryTimer);
    for (const w of this.watches.values()) w.cancel();
    this.watches.clear();
  }

  /**
   * The highest version of `dataInfoId` this session has sent to a subscriber (-1: none), whether or not it was
   * acknowledged: a client may hold it. Unlike a subscriber's `pushedVersion`, which a failed push sets back so it
   * is sent again, this never goes down while the dataInfoId has subscribers here.
   */
  sentVersion(dataInfoId: string): number {
    return this.maxSent.get(dataInfoId) ?? -1;
  }

  /** Pushes awaiting acknowledgement (for tests and the admin API). */
  get pendingPushes(): number {
    return this.pending.size;
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
    this.refetchAll('slotTable');
  }

  /** A new subscriber: pushed at once from the cache, else after a fetch (empty when nothing is published). */
  onSubscribe(s: SubscriberState): void {
    const cached = this.datums.get(s.dataInfoId);
    if (cached) this.push(cached, [s]);
    else this.requestFetch(s.dataInfoId, 'subscribe');
  }

  /** A client acknowledged a push. */
  onPushAck(pushId: number, connectId: string): void {
    const p = this.pending.get(pushId);
    // Only the connection the push went to can acknowledge it (push ids are one sequence per session).
    if (!p || p.connectId !== connectId) return;
    this.pending.delete(pushId);
    this.m.ackLatency.observe((Date.now() - p.sentAt) / 1_000);
    for (const id of p.registerIds) {
      const s = this.d.registry.getSubscriber(id);
      if (!s || s.connectId !== p.connectId) continue;
      if (s.ackedVersion < p.version) s.ackedVersion = p.version;
      if (s.failures > 0) Object.assign(s, recordSuccess());
    }
  }

  /** Nothing to do: pushes of a closed connection expire with their deadline and find no subscriber. */
  onConnectionClosed(_connectId: string): void {
    // Pending pushes are kept in send order so the deadline sweep stays cheap; see tick().
  }

  /**
   * The switches may now let pushes through that they held (stop-push closed, gray-open widened): pushes every
   * cached datum to the subscribers behind it, then re-reads every datum in case one changed meanwhile.
   */
  resume(): void {
    for (const [id, datum] of this.datums) {
      const subs = this.d.registry.subscribersOf(id);
      if (subs) this.push(datum, subs.values());
    }
    this.refetchAll('resume');
  }

  // ---- change streams ----

  private watch(address: string): void {
    const client = this.d.router.pool.get(address);
    const call = client.watchChanges({ sessionAddress: this.d.sessionAddress, sessionProcessId: this.d.sessionProcessId });
    this.watches.set(address, call);
    call.on('data', (batch: DataChangeBatch) => {
      for (const c of batch.changes) this.onChange(c.dataInfoId, c.version);
    });
    // The stream is up: anything that changed while it was down is caught by re-reading.
    call.on('metadata', () => this.refetchAll('reconnect'));
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
      this.contentSince.delete(dataInfoId);
      this.maxSent.delete(dataInfoId);
      this.window.forget(dataInfoId);
      return;
    }
    const cached = this.datums.get(dataInfoId);
    if (cached && cached.version >= version) return;
    this.requestFetch(dataInfoId, 'change');
  }

  private refetchAll(cause: string): void {
    for (const id of this.d.registry.subscribedDataInfoIds()) this.requestFetch(id, cause);
  }

  // ---- fetching ----

  private requestFetch(dataInfoId: string, cause: string): void {
    const decision = this.window.change(dataInfoId, Date.now());
    if (decision.type === 'merged') this.m.merged.inc();
    else this.m.fetches.inc({ cause });
    this.apply(dataInfoId, decision);
  }

  private apply(dataInfoId: string, decision: ChangeDecision | undefined): void {
    if (decision?.type !== 'now') return; // 'at': collected by tick(); 'merged': served by the running fetch
    this.window.started(dataInfoId, Date.now());
    this.toFetch.add(dataInfoId);
    if (!this.fetchScheduled) {
      this.fetchScheduled = true;
      setImmediate(() => this.runFetches());
    }
  }

  private runFetches(): void {
    this.fetchScheduled = false;
    if (this.stopped) return;
    const ids = [...this.toFetch];
    this.toFetch.clear();
    for (let i = 0; i < ids.length; i += FETCH_BATCH) void this.fetchBatch(ids.slice(i, i + FETCH_BATCH));
  }

  private async fetchBatch(ids: string[]): Promise<void> {
    let result: { data: Datum[]; failed: string[] };
    try {
      result = await this.d.router.fetch(ids);
    } catch (err) {
      this.d.logger.error({ err, ids: ids.length }, 'fetching datums failed unexpectedly');
      result = { data: [], failed: ids };
    }
    const now = Date.now();
    for (const datum of result.data) {
      this.onDatum(datum);
      this.apply(datum.dataInfoId, this.window.finished(datum.dataInfoId, now));
    }
    if (result.failed.length > 0) {
      this.m.fetchFailures.inc(result.failed.length);
      for (const id of result.failed) {
        this.window.finished(id, now);
        this.fetchRetryIds.add(id);
      }
      // Slots moving or a data server restarting: try again shortly.
      if (!this.fetchRetryTimer && !this.stopped) {
        this.fetchRetryTimer = setTimeout(() => {
          this.fetchRetryTimer = undefined;
          const again = [...this.fetchRetryIds];
          this.fetchRetryIds.clear();
          for (const id of again) if (this.d.registry.subscribersOf(id)) this.requestFetch(id, 'retry');
        }, FETCH_RETRY_MS);
      }
    }
  }

  private onDatum(datum: Datum): void {
    const id = datum.dataInfoId;
    const subscribers = this.d.registry.subscribersOf(id);
    if (!subscribers) {
      this.datums.delete(id);
      this.contentSince.delete(id);
      this.maxSent.delete(id);
      return;
    }
    const cached = this.datums.get(id);
    if (cached && cached.version > datum.version) return;
    this.accept(datum);
  }

  /** Makes `datum` the one served (cache) and pushes it to every subscriber behind it. */
  private accept(datum: Datum): void {
    const subscribers = this.d.registry.subscribersOf(datum.dataInfoId);
    if (!subscribers) {
      this.datums.delete(datum.dataInfoId);
      this.contentSince.delete(datum.dataInfoId);
      this.maxSent.delete(datum.dataInfoId);
      return;
    }
    this.trackContent(datum, subscribers.values());
    this.datums.set(datum.dataInfoId, datum);
    this.push(datum, subscribers.values());
  }

  /** Updates {@link contentSince} for the views that `subscribers` use. */
  private trackContent(datum: Datum, subscribers: Iterable<SubscriberState>): void {
    let zone = false;
    let all = false;
    for (const s of subscribers) {
      if (s.scope === 'zone') zone = true;
      else all = true;
      if (zone && all) break;
    }
    let c = this.contentSince.get(datum.dataInfoId);
    if (!c) this.contentSince.set(datum.dataInfoId, (c = {}));
    const views: ['zone' | 'all', Scope][] = [];
    if (zone) views.push(['zone', 'zone']);
    if (all) views.push(['all', 'dataCenter']);
    for (const [view, scope] of views) {
      const key = contentKey(datum.publishers, scope, this.d.zone);
      const prev = c[view];
      if (!prev || prev.key !== key || prev.version > datum.version) c[view] = { version: datum.version, key };
    }
    if (!zone) delete c.zone;
    if (!all) delete c.all;
  }

  // ---- pushing ----

  private push(datum: Datum, subscribers: Iterable<SubscriberState>): void {
    const now = Date.now();
    const switches = this.d.switches();
    const since = this.contentSince.get(datum.dataInfoId);
    let held = 0;
    let unchanged = 0;
    let gatedUntil = Infinity;
    const eligible = (s: SubscriberState): boolean => {
      const view = s.scope === 'zone' ? since?.zone : since?.all;
      if (view && view.version <= datum.version && (s.ackedVersion >= view.version || s.pushedVersion >= view.version)) {
        unchanged++;
        return false; // it holds (or is being sent) exactly what this version shows
      }
      if (!mayPush(switches, s.clientIp)) {
        held++;
        return false;
      }
      if (s.failures === 0 || deliveryGate(s, now) === 'ready') return true;
      // In backoff or silenced: it is due a retry of this datum when its gate opens.
      gatedUntil = Math.min(gatedUntil, readyAt(s));
      return false;
    };
    const plans = planPushes(subscribers, datum.publishers, datum.version, this.d.zone, eligible);
    if (gatedUntil < Infinity) {
      const due = this.retryIds.get(datum.dataInfoId);
      if (due === undefined || gatedUntil < due) this.retryIds.set(datum.dataInfoId, gatedUntil);
    }
    if (held > 0) this.m.held.inc(held);
    if (unchanged > 0) this.m.unchanged.inc(unchanged);
    for (const plan of plans) {
      const conn = this.d.connections.get(plan.connectId);
      if (!conn) continue;
      const pushId = ++this.pushSeq;
      const zoneData: Record<string, { dataList: string[] }> = {};
      for (const zone in plan.data.zoneData) zoneData[zone] = { dataList: plan.data.zoneData[zone] };
      const sent = conn.send({
        body: { $case: 'push', value: { pushId, dataInfoId: datum.dataInfoId, registerIds: plan.registerIds, data: { zoneData, localZone: plan.data.localZone, version: datum.version } } },
      });
      if (!sent) {
        this.m.pushFailures.inc({ reason: 'queue' });
        continue; // the connection is closing; its subscribers go with it
      }
      this.m.pushes.inc();
      this.m.pushedSubscribers.inc(plan.registerIds.length);
      this.pending.set(pushId, { connectId: plan.connectId, dataInfoId: datum.dataInfoId, registerIds: plan.registerIds, version: datum.version, sentAt: now });
      if ((this.maxSent.get(datum.dataInfoId) ?? -1) < datum.version) this.maxSent.set(datum.dataInfoId, datum.version);
      for (const id of plan.registerIds) {
        const s = this.d.registry.getSubscriber(id);
        if (s && s.pushedVersion < datum.version) s.pushedVersion = datum.version;
      }
    }
  }

  /** Expires unacknowledged pushes, runs due retries and due merged fetches. */
  private tick(): void {
    if (this.stopped) return;
    const now = Date.now();
    this.expire(now);
    for (const [id, dueAt] of this.retryIds) {
      if (dueAt > now) continue;
      this.retryIds.delete(id);
      const datum = this.datums.get(id);
      const subs = this.d.registry.subscribersOf(id);
      if (datum && subs) this.push(datum, subs.values());
    }
    for (const id of this.window.takeDue(now)) {
      this.toFetch.add(id);
      if (!this.fetchScheduled) {
        this.fetchScheduled = true;
        setImmediate(() => this.runFetches());
      }
    }
    if (now - this.lastPrune > 1_000) {
      this.lastPrune = now;
      this.window.prune(now);
      if (++this.prunes % 10 === 0) this.forgetUnsubscribed();
    }
  }

  /** Drops what is cached for dataInfoIds whose last subscriber left (every 10 s: bounded memory under churn). */
  private forgetUnsubscribed(): void {
    for (const id of this.datums.keys()) {
      if (this.d.registry.subscribersOf(id)) continue;
      this.datums.delete(id);
      this.contentSince.delete(id);
      this.maxSent.delete(id);
    }
  }

  private expire(now: number): void {
    const policy = this.d.options.retry;
    // Pending pushes are in send order and share one deadline: stop at the first still in time.
    for (const [pushId, p] of this.pending) {
      if (now - p.sentAt < policy.ackTimeoutMs) break;
      this.pending.delete(pushId);
      let failed = 0;
      let retryAt = Infinity;
      for (const id of p.registerIds) {
        const s = this.d.registry.getSubscriber(id);
        // Only the latest push to a subscriber counts; one overtaken by a newer push has its own deadline.
        if (!s || s.connectId !== p.connectId || s.ackedVersion >= p.version || s.pushedVersion !== p.version) continue;
        s.pushedVersion = s.ackedVersion;
        const before = { failures: s.failures, retryAt: s.retryAt, silencedUntil: s.silencedUntil };
        const after = recordFailure(before, now, policy);
        Object.assign(s, after);
        failed++;
        if (breakerOpened(before, after)) {
          this.m.breakerOpens.inc();
          this.d.logger.warn({ registerId: id, dataInfoId: p.dataInfoId, connectId: p.connectId, failures: after.failures, silencedMs: policy.breakerOpenMs }, 'subscriber keeps failing pushes; silencing it');
        }
        retryAt = Math.min(retryAt, after.retryAt);
      }
      if (failed === 0) continue;
      this.m.pushFailures.inc({ reason: 'ackTimeout' });
      const due = this.retryIds.get(p.dataInfoId);
      if (due === undefined || retryAt < due) this.retryIds.set(p.dataInfoId, retryAt);
    }
  }

  // ---- the version scan ----

  /**
   * Re-reads every subscribed datum, a batch at a time, and pushes what is newer than the cache (or what a
   * subscriber is behind on). Repairs a lost change notification within one scan period.
   */
  async scan(): Promise<void> {
    if (this.scanning || this.stopped) return;
    this.scanning = true;
    try {
      const ids = [...this.d.registry.subscribedDataInfoIds()];
      for (let i = 0; i < ids.length && !this.stopped; i += FETCH_BATCH) {
        const { data } = await this.d.router.fetch(ids.slice(i, i + FETCH_BATCH));
        for (const datum of data) {
          const cached = this.datums.get(datum.dataInfoId);
          if (cached && cached.version >= datum.version) {
            const subs = this.d.registry.subscribersOf(datum.dataInfoId);
            if (subs) this.push(cached, subs.values()); // anyone behind the cache
            continue;
          }
          this.m.scanRepairs.inc();
          this.onDatum(datum);
        }
      }
    } catch (err) {
      this.d.logger.warn({ err: (err as Error).message }, 'version scan failed; next period retries');
    } finally {
      this.scanning = false;
    }
  }
}
