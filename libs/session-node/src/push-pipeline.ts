import type { Datum, SlotTable } from '@sofareg/contracts';
import type { Logger, Metrics } from '@sofareg/server-kit';
import {
  ChangeDecision,
  ChangeWindow,
  ChangeWindowOptions,
  ContentSince,
  PushRetryPolicy,
  PushState,
  SessionRegistry,
  SubscriberState,
  SwitchState,
  mayPush,
  trackContent,
} from '@sofareg/session-core';
import { ChangeFeed } from './change-feed';
import type { DataRouter } from './data-router';
import type { ScheduledTask, Scheduler, SessionPort } from './session-port';

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
  port: SessionPort;
  scheduler: Scheduler;
  router: Pick<DataRouter, 'fetch'>;
  zone: string;
  logger: Logger;
  metrics: Metrics;
  slotTable: () => SlotTable | undefined;
  /** The switches in force (stop-push, gray-open). */
  switches: () => SwitchState;
  options: PushPipelineOptions;
}

/**
 * From datum changes to client pushes.
 *
 * - Listens to every slot leader's change stream ({@link ChangeFeed}). A change of a dataInfoId with subscribers
 *   here goes through the adaptive batching window ({@link ChangeWindow}): fetched at once when quiet, merged (at
 *   most `window.maxDelayMs`) in a storm; at most one fetch per dataInfoId at a time, batched per leader.
 * - Each fetched datum is cached and pushed to every subscriber not yet sent (nor acknowledged) its version:
 *   one push per client connection and scope serves all of that connection's subscribers of the dataInfoId.
 * - Delivery progress (acknowledgements, timeouts, backoff, the breaker) is {@link PushState}'s: a push not
 *   acknowledged within `retry.ackTimeoutMs` is retried from the cache for as long as the subscriber is behind.
 * - Nothing is pushed to a client that the switches hold (stop-push, outside gray-open); {@link resume} pushes
 *   everything outstanding when they let go.
 * - A change stream that reconnects, a new slot table, and a periodic version scan re-read datums, so a
 *   missed notification is repaired.
 */
export class PushPipeline {
  private readonly datums = new Map<string, Datum>();
  private readonly contentSince = new Map<string, ContentSince>();
  private readonly state: PushState;
  private readonly feed: ChangeFeed;
  private readonly window: ChangeWindow;
  private readonly toFetch = new Set<string>();
  private fetchScheduled = false;
  private readonly fetchRetryIds = new Set<string>();
  private fetchRetryTimer: ScheduledTask | undefined;
  private readonly timers: ScheduledTask[] = [];
  private scanning = false;
  private lastPrune = 0;
  private prunes = 0;
  private stopped = false;
  private readonly m;

  constructor(private readonly d: PushPipelineDeps) {
    this.window = new ChangeWindow(d.options.window);
    this.state = new PushState(d.options.retry, (id) => d.registry.getSubscriber(id));
    this.feed = new ChangeFeed(d.port, d.scheduler, d.logger, d.slotTable, {
      change: (id, version) => this.onChange(id, version),
      reopened: () => this.refetchAll('reconnect'),
    });
    const { metrics } = d;
    this.m = {
      pushes: metrics.counter(
        'session_pushes_total',
        'pushes sent to clients (one per connection, dataInfoId and scope)',
      ),
      pushedSubscribers: metrics.counter('session_pushed_subscribers_total', 'subscribers served by pushes'),
      pushFailures: metrics.counter('session_push_failures_total', 'pushes that failed', ['reason']),
      breakerOpens: metrics.counter(
        'session_push_breaker_opens_total',
        'subscribers silenced by the push circuit breaker',
      ),
      held: metrics.counter('session_pushes_held_total', 'pushes held back by stop-push'),
      fetches: metrics.counter('session_datum_fetches_total', 'datums fetched from data', ['cause']),
      fetchFailures: metrics.counter('session_datum_fetch_failures_total', 'datums a slot leader did not serve'),
      merged: metrics.counter('session_changes_merged_total', 'change notifications merged into a pending fetch'),
      ackLatency: metrics.histogram('session_push_ack_seconds', 'push sent to acknowledged by the client'),
      scanRepairs: metrics.counter('session_scan_repairs_total', 'datums the version scan found newer than the cache'),
      unchanged: metrics.counter(
        'session_pushes_unchanged_total',
        'subscribers not pushed a new version because what they would see is unchanged',
      ),
    };
    const state = this.state;
    metrics.gauge('session_pushes_pending', 'pushes awaiting acknowledgement', [], function () {
      this.set(state.inFlightCount);
    });
    const { registry, scheduler } = d;
    metrics.gauge('session_subscribers_silenced', 'subscribers silenced by the push circuit breaker', [], function () {
      const now = scheduler.now();
      let n = 0;
      for (const id of registry.subscribedDataInfoIds())
        n += PushState.silenced(registry.subscribersOf(id)?.values() ?? [], now);
      this.set(n);
    });
  }

  /** Starts the timers (acknowledgement deadlines, retries, the version scan). */
  start(): void {
    this.timers.push(this.d.scheduler.every(TICK_MS, () => this.tick()));
    const scanMs = this.d.options.scanIntervalMs;
    if (scanMs > 0) this.timers.push(this.d.scheduler.every(scanMs, () => void this.scan()));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.splice(0)) t.cancel();
    this.fetchRetryTimer?.cancel();
    this.feed.stop();
  }

  /**
   * The highest version of `dataInfoId` this session has sent to a subscriber (-1: none), whether or not it was
   * acknowledged: a client may hold it (see {@link PushState.sentVersion}).
   */
  sentVersion(dataInfoId: string): number {
    return this.state.sentVersion(dataInfoId);
  }

  /** Pushes awaiting acknowledgement (for tests and the admin API). */
  get pendingPushes(): number {
    return this.state.inFlightCount;
  }

  /** Follows the data servers of a new slot table, and re-reads what subscribers need (leaders may have moved). */
  onSlotTable(table: SlotTable): void {
    this.feed.follow(table);
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
    const p = this.state.acked(pushId, connectId);
    if (p) this.m.ackLatency.observe((this.d.scheduler.now() - p.sentAt) / 1_000);
  }

  /** Nothing to do: pushes of a closed connection expire with their deadline and find no subscriber. */
  onConnectionClosed(_connectId: string): void {
    // Pushes in flight are kept in send order so the deadline sweep stays cheap; see PushState.expire.
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

  private onChange(dataInfoId: string, version: number): void {
    if (!this.d.registry.subscribersOf(dataInfoId)) {
      this.forget(dataInfoId);
      this.window.forget(dataInfoId);
      return;
    }
    const cached = this.datums.get(dataInfoId);
    if (cached && cached.version >= version) return;
    this.requestFetch(dataInfoId, 'change');
  }

  private forget(dataInfoId: string): void {
    this.datums.delete(dataInfoId);
    this.contentSince.delete(dataInfoId);
    this.state.forget(dataInfoId);
  }

  private refetchAll(cause: string): void {
    for (const id of this.d.registry.subscribedDataInfoIds()) this.requestFetch(id, cause);
  }

  // ---- fetching ----

  private requestFetch(dataInfoId: string, cause: string): void {
    const decision = this.window.change(dataInfoId, this.d.scheduler.now());
    if (decision.type === 'merged') this.m.merged.inc();
    else this.m.fetches.inc({ cause });
    this.apply(dataInfoId, decision);
  }

  private apply(dataInfoId: string, decision: ChangeDecision | undefined): void {
    if (decision?.type !== 'now') return; // 'at': collected by tick(); 'merged': served by the running fetch
    this.window.started(dataInfoId, this.d.scheduler.now());
    this.queueFetch(dataInfoId);
  }

  private queueFetch(dataInfoId: string): void {
    this.toFetch.add(dataInfoId);
    if (this.fetchScheduled) return;
    this.fetchScheduled = true;
    this.d.scheduler.soon(() => this.runFetches());
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
    const now = this.d.scheduler.now();
    for (const datum of result.data) {
      this.onDatum(datum);
      this.apply(datum.dataInfoId, this.window.finished(datum.dataInfoId, now));
    }
    if (result.failed.length === 0) return;
    this.m.fetchFailures.inc(result.failed.length);
    for (const id of result.failed) {
      this.window.finished(id, now);
      this.fetchRetryIds.add(id);
    }
    // Slots moving or a data server restarting: try again shortly.
    if (this.fetchRetryTimer || this.stopped) return;
    this.fetchRetryTimer = this.d.scheduler.after(FETCH_RETRY_MS, () => {
      this.fetchRetryTimer = undefined;
      const again = [...this.fetchRetryIds];
      this.fetchRetryIds.clear();
      for (const id of again) if (this.d.registry.subscribersOf(id)) this.requestFetch(id, 'retry');
    });
  }

  /** A fetched datum: unless the cache is newer, it becomes the one served and is pushed to whoever is behind. */
  private onDatum(datum: Datum): void {
    const id = datum.dataInfoId;
    const subscribers = this.d.registry.subscribersOf(id);
    if (!subscribers) return this.forget(id);
    const cached = this.datums.get(id);
    if (cached && cached.version > datum.version) return;
    const since = trackContent(
      this.contentSince.get(id),
      datum.publishers,
      datum.version,
      subscribers.values(),
      this.d.zone,
    );
    this.contentSince.set(id, since);
    this.datums.set(id, datum);
    this.push(datum, subscribers.values());
  }

  // ---- pushing ----

  private push(datum: Datum, subscribers: Iterable<SubscriberState>): void {
    const now = this.d.scheduler.now();
    const switches = this.d.switches();
    const id = datum.dataInfoId;
    const plan = this.state.plan(
      id,
      datum.publishers,
      datum.version,
      subscribers,
      this.contentSince.get(id),
      (ip) => mayPush(switches, ip),
      this.d.zone,
      now,
    );
    if (plan.held > 0) this.m.held.inc(plan.held);
    if (plan.unchanged > 0) this.m.unchanged.inc(plan.unchanged);
    for (const p of plan.pushes) {
      const zoneData: Record<string, { dataList: string[] }> = {};
      for (const zone in p.data.zoneData) zoneData[zone] = { dataList: p.data.zoneData[zone] };
      const data = { zoneData, localZone: p.data.localZone, version: datum.version };
      const pushId = this.state.takePushId();
      const sent = this.d.port.send(p.connectId, {
        body: { $case: 'push', value: { pushId, dataInfoId: id, registerIds: p.registerIds, data } },
      });
      if (sent === undefined) continue; // the connection is gone
      if (!sent) {
        this.m.pushFailures.inc({ reason: 'queue' });
        continue; // the connection is closing; its subscribers go with it
      }
      this.state.sent(pushId, p.connectId, id, p.registerIds, datum.version, now);
      this.m.pushes.inc();
      this.m.pushedSubscribers.inc(p.registerIds.length);
    }
  }

  /** Expires unacknowledged pushes, runs due retries and due merged fetches. */
  private tick(): void {
    if (this.stopped) return;
    const now = this.d.scheduler.now();
    for (const e of this.state.expire(now)) {
      this.m.pushFailures.inc({ reason: 'ackTimeout' });
      for (const s of e.silenced) {
        this.m.breakerOpens.inc();
        const silencedMs = this.d.options.retry.breakerOpenMs;
        const ctx = {
          registerId: s.registerId,
          dataInfoId: e.dataInfoId,
          connectId: e.connectId,
          failures: s.failures,
          silencedMs,
        };
        this.d.logger.warn(ctx, 'subscriber keeps failing pushes; silencing it');
      }
    }
    for (const id of this.state.takeDueRetries(now)) {
      const datum = this.datums.get(id);
      const subs = this.d.registry.subscribersOf(id);
      if (datum && subs) this.push(datum, subs.values());
    }
    for (const id of this.window.takeDue(now)) this.queueFetch(id);
    if (now - this.lastPrune > 1_000) {
      this.lastPrune = now;
      this.window.prune(now);
      if (++this.prunes % 10 === 0) this.forgetUnsubscribed();
    }
  }

  /** Drops what is cached for dataInfoIds whose last subscriber left (every 10 s: bounded memory under churn). */
  private forgetUnsubscribed(): void {
    for (const id of this.datums.keys()) if (!this.d.registry.subscribersOf(id)) this.forget(id);
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
