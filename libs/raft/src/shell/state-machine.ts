import type { Entry } from '../core';

/**
 * One committed log entry as the state machine receives it: the core's {@link Entry}. Besides the
 * application's entries (`type` Normal with the proposed `data`) it sees the leader's empty entries (Normal,
 * no data) and membership changes (`type` ConfChange; the shell has already acted on them): ignore those,
 * but they let the state machine track the applied index exactly.
 */
export type AppliedEntry = Entry;

/**
 * The replicated application (hashicorp/raft's FSM). The shell calls it from one place, in log order, never
 * concurrently:
 * - `apply` once per committed entry, every index in order (after a `restore`, from the snapshot's index +
 *   1), on every node alike. It must be deterministic: the same entries give the same state and results
 *   everywhere. A throw is treated as the entry's result (the proposer's promise rejects with
 *   `ApplyFailed`); the entry still counts as applied. The result of an application entry resolves the
 *   proposer's promise on the node that proposed it.
 * - `snapshot` to capture the whole state as bytes; no `apply` runs until its promise resolves, so an async
 *   implementation may serialize lazily but must describe the state as of the call.
 * - `restore` to replace the whole state with a snapshot's bytes (at start, and when the leader installs a
 *   snapshot on a lagging follower).
 * Returning a promise from any of them is allowed (the shell awaits it) but costs throughput.
 */
export interface StateMachine<R = unknown> {
  apply(entry: AppliedEntry): R | Promise<R>;
  snapshot(): Uint8Array | Promise<Uint8Array>;
  restore(data: Uint8Array): void | Promise<void>;
}
