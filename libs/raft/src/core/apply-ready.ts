import type { RawNode, Ready } from './raw-node';
import type { Message } from './types';

/**
 * What a driver of {@link RawNode} does with one {@link Ready}; {@link applyReady} calls the steps in the
 * order Raft's safety needs. A step may return a promise (durable storage, an asynchronous state machine);
 * the next step waits for it.
 */
export interface ReadyIo {
  /**
   * Makes `rd.snapshot` (if any), then `rd.entries` (replacing any conflicting suffix), then `rd.hardState`
   * (if any) durable — with an fsync when `rd.mustSync`. Resolves (or returns) only once they are.
   */
  persist(rd: Ready): void | PromiseLike<void>;
  /** Hands `messages` to the transport (it may drop them: Raft retransmits). */
  send(messages: Message[]): void;
  /**
   * Loads `rd.snapshot` (if any) into the state machine, applies `rd.committedEntries` in order, and notes
   * `rd.readStates` (a read is served once the state machine has applied its index).
   */
  apply(rd: Ready): void | PromiseLike<void>;
}

function isThenable(v: unknown): v is PromiseLike<void> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Handles one Ready taken from `raw` with `raw.ready()`, in the one order every driver uses:
 * 1. persist the snapshot, entries and hard state (a vote or an acknowledgement must never leave before its
 *    fsync, and an entry must never be applied — or its proposer answered — before it is durable here);
 * 2. send the messages;
 * 3. apply the snapshot and the committed entries, note the read states;
 * 4. `raw.advance(rd)`.
 * Returns synchronously when every step did, else a promise that settles after `advance` (or rejects with
 * the first step's failure, leaving the Ready outstanding: the node must stop). A driver that overlaps work
 * with the fsync (a pipelining leader) does it inside its own `persist`, and must keep the guarantees above.
 */
export function applyReady(raw: RawNode, rd: Ready, io: ReadyIo): void | Promise<void> {
  const sendAndApply = (): void | Promise<void> => {
    io.send(rd.messages);
    const applied = io.apply(rd);
    if (isThenable(applied)) return Promise.resolve(applied).then(() => raw.advance(rd));
    raw.advance(rd);
  };
  const persisted = io.persist(rd);
  if (isThenable(persisted)) return Promise.resolve(persisted).then(sendAndApply);
  return sendAndApply();
}
