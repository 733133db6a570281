import type { HeartbeatRequest, HeartbeatResponse, LeaveRequest, MetaEvent, WatchRequest } from '@sofareg/contracts';
import {
  MetaClientCore,
  type MetaClientCoreOptions,
  type MetaClientEffect,
  type MetaClientEvent,
  type MetaClientTimer,
} from './meta-client-core';

/** What a watch stream reports to whoever opened it. */
export interface MetaWatchHandlers {
  event(ev: MetaEvent): void;
  /** The stream ended (error or end); called at most once, never after the stream was cancelled. */
  ended(why: string): void;
}

/**
 * The one I/O port of a MetaClient: the grpc-js shell implements it over sockets and timers, the simulation
 * over its virtual network and clock. Every callback may come later, in any order; none may come synchronously
 * from the call that asked for it.
 */
export interface MetaClientPort {
  /** The current time in milliseconds. */
  now(): number;
  /** One heartbeat call: exactly one of `answered` / `failed` (unreachable, deadline) is called. */
  heartbeat(
    address: string,
    request: HeartbeatRequest,
    answered: (res: HeartbeatResponse) => void,
    failed: (reason: string) => void,
  ): void;
  /** Opens a watch stream; returns what cancels it. */
  watch(address: string, request: WatchRequest, handlers: MetaWatchHandlers): () => void;
  /** Tells meta this server leaves (best effort). */
  leave(address: string, request: LeaveRequest): void;
  /** Runs `fire` at `atMs` (at once if that has passed); returns what cancels it. */
  timer(atMs: number, fire: () => void): () => void;
  /** Hands an event to the MetaClient's owner. */
  emit(event: MetaClientEvent): void;
  log(level: 'debug' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
}

/**
 * Drives a {@link MetaClientCore} through a {@link MetaClientPort}: carries out each effect and reports every
 * outcome back to the core. Keeps one timer per kind (a new schedule replaces the pending one) and one watch
 * stream; no I/O of its own. Shared by the grpc-js MetaClient and the meta simulation, so the simulation runs
 * this code too.
 */
export class MetaClientDriver {
  /** The decisions (read its slot table, node lists and provide-data). */
  readonly core: MetaClientCore;
  private readonly timers = new Map<MetaClientTimer, () => void>();
  private watch: { id: number; cancel: () => void } | undefined;

  constructor(
    options: MetaClientCoreOptions,
    private readonly port: MetaClientPort,
  ) {
    this.core = new MetaClientCore(options);
  }

  /** Starts heartbeating and watching. */
  start(): void {
    this.run(this.core.start(this.port.now()));
  }

  /** Stops: timers and the stream cancelled; with `leave`, meta is told this server leaves. */
  stop(leave: boolean): void {
    this.run(this.core.stop(leave));
  }

  private run(effects: MetaClientEffect[]): void {
    for (const e of effects) this.carryOut(e);
  }

  private carryOut(e: MetaClientEffect): void {
    const port = this.port;
    switch (e.kind) {
      case 'heartbeat':
        port.heartbeat(
          e.address,
          e.request,
          (res) => this.run(this.core.heartbeatAnswered(e.address, e.attempt, res)),
          (reason) => this.run(this.core.heartbeatFailed(e.address, reason)),
        );
        return;
      case 'openWatch': {
        const id = e.watch;
        const cancel = port.watch(e.address, e.request, {
          event: (ev) => this.run(this.core.watchEvent(id, ev)),
          ended: (why) => {
            if (this.watch?.id === id) this.watch = undefined;
            this.run(this.core.watchEnded(id, why, port.now()));
          },
        });
        this.watch = { id, cancel };
        return;
      }
      case 'cancelWatch':
        if (this.watch?.id === e.watch) this.watch.cancel();
        this.watch = undefined;
        return;
      case 'leave':
        port.leave(e.address, e.request);
        return;
      case 'schedule': {
        this.timers.get(e.timer)?.();
        const due = () => this.run(e.timer === 'heartbeat' ? this.core.heartbeatDue(port.now()) : this.core.watchDue());
        this.timers.set(e.timer, port.timer(e.atMs, due));
        return;
      }
      case 'cancelTimers':
        for (const cancel of this.timers.values()) cancel();
        this.timers.clear();
        return;
      case 'emit':
        port.emit(e.event);
        return;
      case 'log':
        port.log(e.level, e.message, e.fields);
        return;
    }
  }
}
