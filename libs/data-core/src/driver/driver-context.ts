import type { DataServerCore } from '../data-server-core';
import type { Effects } from '../effects';
import type { DataNodePort, DriverLog, DriverObserver, DriverScheduler } from './data-node-port';

/** What the driver's parts share: the core, the port, time, and the one way to carry out effects. */
export interface DriverContext {
  readonly core: DataServerCore;
  readonly port: DataNodePort;
  readonly scheduler: DriverScheduler;
  readonly log: DriverLog;
  readonly observer: DriverObserver;
  /** Carries out a core call's effects (nothing once stopped). */
  run(fx: Effects): void;
  /** Runs `fn` after `ms` unless the driver stopped meanwhile. */
  later(ms: number, fn: () => void): void;
  /** Whether the driver stopped: answers arriving after are ignored. */
  stopped(): boolean;
  /** Where a session's sync service listens, as meta lists it. */
  syncAddressOf(session: string): string | undefined;
}
