/** Stable codes of {@link RaftError}. */
export type RaftErrorCode =
  /** A requested log index is below the first index kept (compacted into a snapshot). */
  | 'Compacted'
  /** A requested log index is above the last index. */
  | 'Unavailable'
  /** A snapshot older than the one held was offered. */
  | 'SnapshotOutOfDate'
  /** The configuration is invalid (see message). */
  | 'InvalidConfig'
  /** The caller broke the API contract (e.g. `advance` without `ready`, or storage out of sync). */
  | 'ContractViolation'
  /** An internal invariant does not hold: a bug, or storage lost data it had acknowledged. */
  | 'Invariant';

/**
 * Thrown only for programming and storage errors. Expected outcomes (not leader, proposal dropped) are returned
 * as values, never thrown.
 */
export class RaftError extends Error {
  override readonly name = 'RaftError';
  constructor(
    readonly code: RaftErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
