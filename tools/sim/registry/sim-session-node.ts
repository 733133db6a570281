import type {
  DataChangeBatch,
  FetchSlotPublishersRequest,
  FetchSlotPublishersResponse,
  GetDataResponse,
  DataPush,
  SlotDigestRequest,
  SlotDigestResponse,
  SlotTable,
  WriteResponse,
} from '@sofareg/contracts';
import type { DataNodeDriver } from '@sofareg/data-core';
import { createLogger, Metrics } from '@sofareg/server-kit';
import { DEFAULT_CHANGE_WINDOW, DEFAULT_PUSH_RETRY_POLICY, DEFAULT_SWITCHES } from '@sofareg/session-core';
import {
  ChangeSink,
  ScheduledTask,
  Scheduler,
  SessionNode,
  SessionNodeOptions,
  SessionPort,
} from '@sofareg/session-node';
import type { SeededRandom, SimClock, SimNetwork } from '../kernel';
import type { SessionSeam } from './seams';

/** A write's deadline in the simulated port: longer than a data server's replication wait, as the real 5 s. */
const WRITE_TIMEOUT_MS = 400;
/** How long an unreachable data server takes to fail a change stream. */
const STREAM_FAIL_MS = 50;

/** The real session's bounds and cadences, scaled to runs of a few virtual seconds. */
export const SIM_SESSION_OPTIONS: Omit<SessionNodeOptions, 'address' | 'processId'> = {
  zone: 'z',
  dataCenter: 'dc',
  write: { maxBatch: 8, maxInFlight: 2, retryForMs: 60_000, maxPending: 10_000 },
  push: { retry: DEFAULT_PUSH_RETRY_POLICY, window: DEFAULT_CHANGE_WINDOW, scanIntervalMs: 1_000 },
};

/** Where a simulated session finds the rest of the world. */
export interface SimSessionWorld {
  clock: SimClock;
  net: SimNetwork;
  rnd: SeededRandom;
  dataNode(address: string): DataNodeDriver | undefined;
  /** A push the session queued for one of its client connections. */
  onPush(session: SimSessionNode, connectId: string, push: DataPush): void;
}

/**
 * A session in the simulation: the real {@link SessionNode}, with only its port (calls over the simulated
 * network, each settling within a simulated deadline) and its scheduler (the virtual clock and the seeded random
 * source) replaced. A crash stops the node and drops the object; a restart is a new one with a new process id.
 */
export class SimSessionNode implements SessionSeam {
  readonly node: SessionNode;
  /** Client connections open on this session (pushes to others are refused as to a gone connection). */
  readonly connections = new Set<string>();
  private table: SlotTable | undefined;
  private readonly streams = new Map<string, ChangeSink>();
  private alive = true;

  constructor(
    readonly address: string,
    processId: string,
    private readonly world: SimSessionWorld,
  ) {
    this.node = new SessionNode(
      { address, processId, ...SIM_SESSION_OPTIONS },
      {
        port: this.port(),
        scheduler: this.scheduler(),
        logger: createLogger('session', address, 'silent'),
        metrics: new Metrics('session'),
        slotTable: () => this.table,
        switches: () => DEFAULT_SWITCHES,
      },
    );
    this.node.start();
  }

  /** A slot table from meta; older or equal epochs are ignored, as meta's re-sends. */
  onTable(t: SlotTable): void {
    if (!this.alive || (this.table && t.epoch <= this.table.epoch)) return;
    this.table = t;
    this.node.onSlotTable(t);
  }

  kill(): void {
    this.alive = false;
    this.node.stop();
  }

  /** The data server `address` went down: its change stream fails after a while, as a broken connection. */
  dataServerDown(address: string): void {
    const sink = this.streams.get(address);
    if (!sink) return;
    this.streams.delete(address);
    this.world.clock.after(STREAM_FAIL_MS, () => this.alive && sink.ended(`${address} is down`));
  }

  onChanges(from: string, batch: DataChangeBatch): void {
    if (this.alive) this.streams.get(from)?.changes(batch);
  }

  fetchSlotPublishers(req: FetchSlotPublishersRequest): FetchSlotPublishersResponse | undefined {
    return this.alive ? this.node.fetchSlotPublishers(req) : undefined;
  }

  slotDigest(req: SlotDigestRequest): SlotDigestResponse | undefined {
    return this.alive ? this.node.slotDigest(req) : undefined;
  }

  private scheduler(): Scheduler {
    const { clock, rnd } = this.world;
    const after = (ms: number, fn: () => void): ScheduledTask => {
      let on = true;
      clock.after(ms, () => on && this.alive && fn());
      return { cancel: () => void (on = false) };
    };
    return {
      now: () => clock.now,
      after,
      every: (ms, fn) => {
        let current: ScheduledTask | undefined;
        let on = true;
        const loop = () => {
          if (!on) return;
          fn();
          current = after(ms, loop);
        };
        current = after(ms, loop);
        return {
          cancel: () => {
            on = false;
            current?.cancel();
          },
        };
      },
      soon: (fn) => void after(0, fn),
      random: () => rnd.next(),
    };
  }

  private port(): SessionPort {
    const { clock, net, dataNode } = this.world;
    const self = this.address;
    // A lost leg rejects at the deadline, as a gRPC deadline does: a promise that never settled would hold the
    // leader's in-flight slot for good.
    const call = <T>(to: string, handle: (respond: (answer: T) => void) => void, timeoutMs = 200) =>
      new Promise<T>((resolve, reject) =>
        net.request<T>(
          self,
          to,
          handle,
          (answer) => (answer === undefined ? reject(new Error(`no answer from ${to}`)) : resolve(answer)),
          timeoutMs,
        ),
      );
    const answered = <T>(answer: T | undefined, respond: (answer: T) => void) => {
      if (answer !== undefined) respond(answer);
    };
    return {
      write: (leader, req) =>
        call<WriteResponse>(leader, (respond) => dataNode(leader)?.write(req, respond), WRITE_TIMEOUT_MS),
      getData: (leader, req) =>
        call<GetDataResponse>(leader, (respond) => answered(dataNode(leader)?.getData(req), respond)),
      clientOff: async (leader, req) => {
        await call<WriteResponse>(leader, (respond) => answered(dataNode(leader)?.clientOff(req), respond));
      },
      watchChanges: (address, sink) => {
        this.streams.set(address, sink);
        const up = net.connected(self, address);
        clock.after(up ? 1 : STREAM_FAIL_MS, () => {
          if (!this.alive || this.streams.get(address) !== sink) return;
          if (up) return sink.opened();
          this.streams.delete(address);
          sink.ended(`${address} is unreachable`);
        });
        return { cancel: () => void (this.streams.get(address) === sink && this.streams.delete(address)) };
      },
      send: (connectId, msg) => {
        if (!this.connections.has(connectId)) return undefined;
        if (msg.body?.$case === 'push') this.world.onPush(this, connectId, msg.body.value);
        return true;
      },
    };
  }
}
