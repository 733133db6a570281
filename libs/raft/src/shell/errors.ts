import type { NodeId } from '../core';

/** Stable codes of {@link RaftNodeError}. */
export type RaftNodeErrorCode =
  /** This node is not the leader: nothing was appended. Retry at `leaderAddress` (when known). */
  | 'NotLeader'
  /**
   * The proposal was appended but another leader's entry took its index: it was definitely not applied and
   * may be retried.
   */
  | 'ProposalDropped'
  /** The deadline passed before the outcome was known: the proposal may or may not be applied. */
  | 'Timeout'
  /** The outcome cannot be known any more (a snapshot from the leader replaced the log): check, then retry. */
  | 'OutcomeUnknown'
  /** Too many proposals or bytes are waiting: retry later (with backoff). */
  | 'Backpressure'
  /** A leadership transfer is in progress: retry shortly, at the new leader. */
  | 'TransferInProgress'
  /** Another membership change has not committed yet (or the leader has not committed in its term). */
  | 'ConfChangePending'
  /** The membership change makes no sense (already a member, not a member, the leader itself…). */
  | 'InvalidConfChange'
  /** An argument is invalid (see the message). */
  | 'InvalidArgument'
  /** The state machine threw while applying the entry (on every replica alike: it is deterministic). */
  | 'ApplyFailed'
  /** The node is not started, is stopping, or has stopped. */
  | 'Stopped'
  /** The node failed (a storage write failed or an invariant broke) and stopped: see `cause`; restart it. */
  | 'Failed';

/**
 * Every error of the Raft shell. `code` is stable; the message says what to do. NotLeader errors carry the
 * known leader's id and address so callers can redirect.
 */
export class RaftNodeError extends Error {
  override readonly name = 'RaftNodeError';
  /** NotLeader: the leader this node knows ('' when none). */
  readonly leaderId: NodeId;
  /** NotLeader: the known leader's host:port ('' when none or unknown). */
  readonly leaderAddress: string;

  constructor(
    readonly code: RaftNodeErrorCode,
    message: string,
    details: { leaderId?: NodeId; leaderAddress?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.leaderId = details.leaderId ?? '';
    this.leaderAddress = details.leaderAddress ?? '';
  }
}

/** A NotLeader {@link RaftNodeError} naming the known leader. */
export function notLeaderError(self: NodeId, leaderId: NodeId, leaderAddress: string): RaftNodeError {
  const where = leaderId
    ? `the leader is '${leaderId}'${leaderAddress ? ` at ${leaderAddress}` : ''}`
    : 'no leader is known yet; retry shortly';
  return new RaftNodeError('NotLeader', `node '${self}' is not the Raft leader: ${where}`, { leaderId, leaderAddress });
}

/** True when `e` is a {@link RaftNodeError} with `code`. */
export function isRaftNodeError(e: unknown, code?: RaftNodeErrorCode): e is RaftNodeError {
  return e instanceof RaftNodeError && (code === undefined || e.code === code);
}
