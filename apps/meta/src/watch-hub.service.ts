import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { MetaEvent, WatchRequest } from '@sofareg/contracts';
import { LeaderDuties, changeEvents, initialWatchEvents, notLeaderError } from '@sofareg/meta-core';
import { METRICS, Metrics, grpc } from '@sofareg/server-kit';
import { LEADER_DUTIES, META_STORE } from './meta.tokens';
import type { MetaStore } from './meta-store';

/** A server's open watch stream. */
export type Watcher = grpc.ServerWritableStream<WatchRequest, MetaEvent>;

/**
 * The watch streams of session and data servers on the leader: a stream opened while this new leader catches
 * up waits, then gets the whole state ({@link initialWatchEvents}) and every applied change after it. When
 * leadership moves every stream ends with a NotLeader naming the new leader. Tells {@link LeaderDuties} when a
 * server's stream opens and closes (a closed stream makes its server suspect).
 */
@Injectable()
export class WatchHub implements OnModuleInit {
  /** Streams served (leader, caught up). */
  private readonly served = new Set<Watcher>();
  /** Streams opened while this new leader catches up: served once it has. */
  private readonly waiting = new Set<Watcher>();
  private stopping = false;

  constructor(
    @Inject(META_STORE) private readonly store: MetaStore,
    @Inject(LEADER_DUTIES) private readonly duties: LeaderDuties,
    @Inject(METRICS) metrics: Metrics,
  ) {
    const served = this.served;
    metrics.gauge('meta_watchers', 'open watch streams', [], function () {
      this.set(served.size);
    });
  }

  onModuleInit(): void {
    this.store.on('applied', (changes) => {
      if (this.served.size === 0) return;
      const events = changeEvents(this.store.state, changes, this.store.leaderAddress() ?? '');
      for (const w of this.served) for (const ev of events) w.write(ev);
    });
  }

  /** Takes a new stream: refused with NotLeader unless this node leads; held while it catches up. */
  open(call: Watcher, leads: boolean): void {
    if (!leads) {
      call.write({ event: { $case: 'error', value: notLeaderError(this.store.leaderAddress() ?? '') } });
      call.end();
      return;
    }
    const watcher = call.request.node?.address;
    if (watcher) this.duties.watchOpened(watcher);
    if (this.duties.ready) this.serve(call);
    else this.waiting.add(call);
    const drop = () => {
      const had = this.served.delete(call) || this.waiting.delete(call);
      if (!had || !watcher || this.stopping) return;
      this.duties.watchClosed(watcher, Date.now());
    };
    call.on('cancelled', drop);
    call.on('close', drop);
    call.on('error', drop);
  }

  /** This node caught up: serve the streams that waited. */
  serveWaiting(): void {
    for (const w of this.waiting) this.serve(w);
    this.waiting.clear();
  }

  /** Leadership moved: every stream gets a NotLeader naming `leader` and ends. */
  redirectAll(leader: string | undefined): void {
    const error = notLeaderError(leader ?? '', 'meta leader changed');
    for (const w of this.takeAll()) {
      w.write({ event: { $case: 'error', value: error } });
      w.end();
    }
  }

  /** Ends every stream (shutdown). */
  endAll(): void {
    this.stopping = true;
    for (const w of this.takeAll()) w.end();
  }

  private takeAll(): Watcher[] {
    const all = [...this.served, ...this.waiting];
    this.served.clear();
    this.waiting.clear();
    return all;
  }

  private serve(call: Watcher): void {
    const events = initialWatchEvents(this.store.state, call.request.slotTableEpoch, this.store.leaderAddress() ?? '');
    for (const ev of events) call.write(ev);
    this.served.add(call);
  }
}
