import type {
  ClientOffRequest,
  DataChangeBatch,
  GetDataRequest,
  GetDataResponse,
  ServerMessage,
  WriteRequest,
  WriteResponse,
} from '@sofareg/contracts';

/**
 * Receives one data server's change notifications (see {@link SessionPort.watchChanges}); never called before
 * `watchChanges` returns.
 */
export interface ChangeSink {
  /** A batch of changed dataInfoIds with their new versions. */
  changes(batch: DataChangeBatch): void;
  /** The stream is up (again): anything that changed while it was down must be re-read. */
  opened(): void;
  /** The stream ended or failed; no more calls follow. */
  ended(why: string): void;
}

/** An open change stream; `cancel` ends it without calling {@link ChangeSink.ended}. */
export interface ChangeWatch {
  cancel(): void;
}

/**
 * Everything a session node sends: to data servers (writes, datum reads, client-offs, change streams) and
 * to its client connections. The gRPC shell implements it over sockets; a simulation over its network.
 * Promises reject when the peer is unreachable (an error whose gRPC `code`, if any, says whether it is transient)
 * and every call settles within a bounded time: a write that never settles holds its leader's in-flight slot.
 */
export interface SessionPort {
  /** One Write batch to the data server `leader`; answers one result per op, in order. */
  write(leader: string, req: WriteRequest): Promise<WriteResponse>;
  /** Whole datums from the data server `leader`. */
  getData(leader: string, req: GetDataRequest): Promise<GetDataResponse>;
  /** Tells the data server `leader` to drop the publishers of closed client connections. */
  clientOff(leader: string, req: ClientOffRequest): Promise<void>;
  /** Opens the change stream of the data server `address`. */
  watchChanges(address: string, sink: ChangeSink): ChangeWatch;
  /**
   * Queues `msg` for the client connection `connectId`. Returns true when queued, false when the connection is
   * closing (or was just closed for reading too slowly), undefined when there is no such connection.
   */
  send(connectId: string, msg: ServerMessage): boolean | undefined;
}

/** A timer of a {@link Scheduler}. */
export interface ScheduledTask {
  cancel(): void;
}

/**
 * Time and randomness for a session node: the system clock and timers in a server, a virtual clock and a
 * seeded source in a simulation.
 */
export interface Scheduler {
  /** Milliseconds since the epoch (or since the simulation began). */
  now(): number;
  /** Runs `fn` once after `ms`. */
  after(ms: number, fn: () => void): ScheduledTask;
  /** Runs `fn` every `ms` until cancelled. */
  every(ms: number, fn: () => void): ScheduledTask;
  /** Runs `fn` at the end of the current turn (after what is already queued in it). */
  soon(fn: () => void): void;
  /** A value in [0, 1), for jitter. */
  random(): number;
}

/** The system clock and Node timers (timers do not keep the process alive). */
export const systemScheduler: Scheduler = Object.freeze({
  now: () => Date.now(),
  after(ms: number, fn: () => void): ScheduledTask {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  every(ms: number, fn: () => void): ScheduledTask {
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
  soon: (fn: () => void) => void setImmediate(fn),
  random: () => Math.random(),
});
