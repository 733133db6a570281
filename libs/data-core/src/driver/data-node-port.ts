import type {
  FetchSlotPublishersRequest,
  FetchSlotPublishersResponse,
  ReplicateRequest,
  ReplicateResponse,
  SlotDigestRequest,
  SlotDigestResponse,
  SlotSnapshotRequest,
  SlotSnapshotResponse,
} from '@sofareg/contracts';

/**
 * The answer to one outgoing call: the response, or an Error (failed, timed out, unreachable). Called at most
 * once. Callbacks rather than promises: under simulation every continuation then runs inside the virtual
 * clock's event queue, never in a microtask the simulator cannot order.
 */
export type Reply<T> = (answer: T | Error) => void;

/** Calls to the sessions' sync service (slot pages and digests), by the session's sync address. */
export interface SessionSyncPort {
  fetchSlotPublishers(
    syncAddress: string,
    req: FetchSlotPublishersRequest,
    reply: Reply<FetchSlotPublishersResponse>,
  ): void;
  slotDigest(syncAddress: string, req: SlotDigestRequest, reply: Reply<SlotDigestResponse>): void;
}

/** Calls to peer data servers: ops to a follower (one call in flight per follower), snapshots from a leader. */
export interface PeerPort {
  replicate(follower: string, req: ReplicateRequest, reply: Reply<ReplicateResponse>): void;
  slotSnapshot(leader: string, req: SlotSnapshotRequest, reply: Reply<SlotSnapshotResponse>): void;
}

/**
 * Everything a data node sends: the driver's one I/O port. Each implementation owns its deadlines (a call
 * that does not answer in time replies with an Error).
 */
export interface DataNodePort extends SessionSyncPort, PeerPort {}

/** Time for the driver: the wall clock and timers in a server, the virtual clock under simulation. */
export interface DriverScheduler {
  /** Milliseconds, the same epoch as publishers' registerTimestamp. */
  now(): number;
  /** Runs `run` once after `delayMs`; returns a function that cancels it. Must not keep a process alive. */
  after(delayMs: number, run: () => void): () => void;
  /** Runs `run` soon, after the work in progress (coalesces notifications of one turn). */
  soon(run: () => void): void;
}

/** The driver's structured log lines (pino's signature; a simulation may record or drop them). */
export interface DriverLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** What the driver counts; the server maps these to metrics. Every method is optional. */
export interface DriverObserver {
  notified?(changes: number): void;
  replicateBatch?(ops: number): void;
  replicated?(ops: number): void;
  replicationWaitTimedOut?(): void;
  syncPage?(ok: boolean): void;
  snapshot?(kind: 'installed' | 'served'): void;
  repaired?(dataInfoIds: number): void;
}

/** A log that drops everything. */
export const SILENT_LOG: DriverLog = { debug: () => undefined, info: () => undefined, warn: () => undefined };
