import {
  DataNodeDriver,
  DataNodeDriverOptions,
  DataNodePort,
  DataServerCore,
  DataCoreOptions,
  DriverScheduler,
  Reply,
} from '@sofareg/data-core';
import type { SimClock, SimNetwork } from '../kernel';
import type { SessionSeam } from './seams';

/** The simulation's bounds for the real core: small, so that logs overflow and pages split often. */
export const SIM_CORE_OPTIONS: Omit<DataCoreOptions, 'self'> = {
  dataCenter: 'dc',
  maxLogPerSlot: 50,
  maxOpsPerSlot: 20,
  sessionGraceMs: 2_000,
};

/** The simulation's cadences for the real driver, scaled to runs of a few virtual seconds. */
export const SIM_DRIVER_OPTIONS: DataNodeDriverOptions = {
  replicationWaitMs: 100,
  digestIntervalMs: 1_500,
  tickMs: 500,
  compactIntervalMs: 10_000,
  tombstoneTtlMs: 60_000,
  syncPageSize: 3,
  syncConcurrency: 8,
  maxNotifyBatch: 4,
  pumpBackoffMs: 50,
};

/** Where a simulated data node finds the others. */
export interface SimWorld {
  clock: SimClock;
  net: SimNetwork;
  dataNode(address: string): SimDataNode | undefined;
  session(address: string): SessionSeam | undefined;
}

/**
 * A data server in the simulation: the real {@link DataServerCore} and {@link DataNodeDriver}, with only the
 * port (calls over the simulated network) and the scheduler (the virtual clock) replaced. A crash stops the
 * driver and drops the object; a restart is a new one with nothing in memory, as a restarted process.
 */
export class SimDataNode {
  readonly core: DataServerCore;
  readonly driver: DataNodeDriver;
  private alive = true;

  constructor(
    readonly address: string,
    private readonly world: SimWorld,
    watchers: readonly string[],
  ) {
    this.core = new DataServerCore({ self: address, ...SIM_CORE_OPTIONS });
    this.driver = new DataNodeDriver(this.core, this.port(), this.scheduler(), SIM_DRIVER_OPTIONS);
    // Sessions watch every data server they know of (a real session re-opens its watch after a restart).
    for (const s of watchers) {
      this.driver.watch(s, (batch) => world.net.send(address, s, () => world.session(s)?.onChanges(address, batch)));
    }
    this.driver.start();
  }

  kill(): void {
    this.alive = false;
    this.driver.stop();
  }

  private scheduler(): DriverScheduler {
    const clock = this.world.clock;
    return {
      now: () => clock.now,
      after: (delayMs, run) => {
        let on = true;
        clock.after(delayMs, () => on && this.alive && run());
        return () => (on = false);
      },
      soon: (run) => clock.after(0, () => this.alive && run()),
    };
  }

  private port(): DataNodePort {
    const { net, dataNode, session } = this.world;
    const self = this.address;
    const call = <T>(to: string, handle: () => T | undefined, reply: Reply<T>) =>
      net.call(self, to, handle, (answer) => reply(answer ?? new Error(`no answer from ${to}`)));
    return {
      fetchSlotPublishers: (to, req, reply) => call(to, () => session(to)?.fetchSlotPublishers(req), reply),
      slotDigest: (to, req, reply) => call(to, () => session(to)?.slotDigest(req), reply),
      replicate: (to, req, reply) => call(to, () => dataNode(to)?.driver.replicate(req), reply),
      slotSnapshot: (to, req, reply) => call(to, () => dataNode(to)?.driver.slotSnapshot(req), reply),
    };
  }
}
