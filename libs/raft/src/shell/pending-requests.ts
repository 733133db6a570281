import type { Entry, NodeId } from '../core';
import { RaftNodeError } from './errors';
import type { ShellCounters } from './shell-counters';

/** A caller waiting for an outcome, and the time (ms, the caller's clock) after which it gives up. */
export interface Waiter<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
  deadline: number;
}

/** A proposal handed to the core: it succeeded iff the entry applied at its index has `term`. */
export interface PendingProposal {
  term: number;
  /** A membership change (resolved with the new membership, whatever the state machine returned). */
  conf: boolean;
  waiter: Waiter<unknown>;
}

/** A proposal not yet handed to the core (the Ready loop is busy). */
export interface QueuedProposal {
  data: Uint8Array;
  waiter: Waiter<unknown>;
}

/** The deadlines of each kind of wait, for the messages of the errors that end them. */
export interface WaitLimits {
  proposalTimeoutMs: number;
  readTimeoutMs: number;
}

type Counts = Pick<
  ShellCounters,
  'proposalsApplied' | 'proposalsRejected' | 'proposalsTimedOut' | 'readIndexServed' | 'readIndexTimedOut'
>;

/** The earliest deadline of `ws` (a loop: a spread of a large array overflows the call stack). */
function earliestDeadline(ws: readonly Waiter<unknown>[]): number {
  let min = Infinity;
  for (const w of ws) if (w.deadline < min) min = w.deadline;
  return min;
}

/**
 * Everything a {@link RaftNode} has promised an answer to, with the deadlines: proposals queued and in the log,
 * read barriers queued, sent to the leader and waiting for their index to be applied, and leadership transfers.
 * Pure: no timers or clock (time comes in as plain milliseconds), no I/O; it settles waiters and counts into
 * the shell's counters. Each waiter is settled exactly once.
 */
export class PendingRequests {
  private queued: QueuedProposal[] = [];
  private readonly proposals = new Map<number, PendingProposal>();
  private readQueue: Waiter<void>[] = [];
  /** Read batches sent to the leader, by request context; `deadline` is their earliest waiter's. */
  private readonly readsInFlight = new Map<string, { waiters: Waiter<void>[]; deadline: number }>();
  private appliedWaits: { index: number; waiter: Waiter<void> }[] = [];
  private leaderWaits: { to: NodeId; waiter: Waiter<void> }[] = [];

  constructor(
    private readonly limits: WaitLimits,
    private readonly counters: Counts,
  ) {}

  /** Proposals queued or in the log (what `maxPendingProposals` bounds). */
  get proposalCount(): number {
    return this.proposals.size + this.queued.length;
  }

  /** Read callers queued, sent to the leader or waiting for their index to be applied. */
  get readCount(): number {
    let n = this.readQueue.length + this.appliedWaits.length;
    for (const b of this.readsInFlight.values()) n += b.waiters.length;
    return n;
  }

  /** Whether reads wait to be sent (once a leader is known). */
  get hasQueuedReads(): boolean {
    return this.readQueue.length > 0;
  }

  queueProposal(data: Uint8Array, waiter: Waiter<unknown>): void {
    this.queued.push({ data, waiter });
  }

  /** Takes every queued proposal, in arrival order, to hand them to the core as one batch. */
  takeQueuedProposals(): QueuedProposal[] {
    const batch = this.queued;
    this.queued = [];
    return batch;
  }

  /**
   * Tracks a proposal the core appended at `index`. One an earlier term left there was overwritten in the log:
   * it rejects with `ProposalDropped`.
   */
  track(index: number, p: PendingProposal): void {
    const old = this.proposals.get(index);
    if (old) {
      this.proposals.delete(index);
      this.counters.proposalsRejected++;
      old.waiter.reject(this.dropped(index));
    }
    this.proposals.set(index, p);
  }

  /**
   * Settles the proposal at `e.index`, if any, once `e` is applied: with `result` (or `error`) when `e` is the
   * proposed entry (same term), else `ProposalDropped`. A membership change resolves with `confResult`.
   */
  settleApplied(e: Entry, result: unknown, error: unknown, confResult: () => unknown): void {
    const p = this.proposals.get(e.index);
    if (!p) return;
    this.proposals.delete(e.index);
    if (p.term !== e.term) {
      this.counters.proposalsRejected++;
      p.waiter.reject(this.dropped(e.index));
    } else if (p.conf) {
      this.counters.proposalsApplied++;
      p.waiter.resolve(confResult());
    } else if (error !== undefined) {
      const msg = `the state machine failed to apply entry ${e.index}: ${errorText(error)}`;
      p.waiter.reject(new RaftNodeError('ApplyFailed', msg, { cause: error }));
    } else {
      this.counters.proposalsApplied++;
      p.waiter.resolve(result);
    }
  }

  /** Rejects the proposals at or below `index` with `OutcomeUnknown`: a snapshot from the leader covered them. */
  coveredBySnapshot(index: number): void {
    for (const [i, p] of this.proposals) {
      if (i > index) continue;
      this.proposals.delete(i);
      const msg = `entry ${i} was covered by a snapshot from the leader; check whether it took effect`;
      p.waiter.reject(new RaftNodeError('OutcomeUnknown', msg));
    }
  }

  queueRead(waiter: Waiter<void>): void {
    this.readQueue.push(waiter);
  }

  /** Sends every queued read as one batch under request context `ctx` (unique per batch). */
  sendQueuedReads(ctx: string): void {
    const waiters = this.readQueue;
    this.readQueue = [];
    this.readsInFlight.set(ctx, { waiters, deadline: earliestDeadline(waiters) });
  }

  /** The leader confirmed batch `ctx` at read index `index`: its callers wait for the state machine to reach it. */
  readConfirmed(ctx: string, index: number): void {
    const batch = this.readsInFlight.get(ctx);
    if (!batch) return;
    this.readsInFlight.delete(ctx);
    for (const waiter of batch.waiters) this.appliedWaits.push({ index, waiter });
  }

  /** Resolves the reads whose index the state machine has reached. */
  applied(index: number): void {
    if (this.appliedWaits.length === 0) return;
    const keep: { index: number; waiter: Waiter<void> }[] = [];
    for (const w of this.appliedWaits) {
      if (w.index <= index) {
        this.counters.readIndexServed++;
        w.waiter.resolve();
      } else {
        keep.push(w);
      }
    }
    this.appliedWaits = keep;
  }

  waitForLeader(to: NodeId, waiter: Waiter<void>): void {
    this.leaderWaits.push({ to, waiter });
  }

  /**
   * A new leader is known ('' for none). Read batches sent to the previous one will not be answered: they are
   * queued again for the new one (a later read point is still linearizable for callers that started before).
   * Transfers to `leader` resolve.
   */
  leaderChanged(leader: NodeId, changed: boolean): void {
    if (leader === '') return;
    if (changed) {
      for (const b of this.readsInFlight.values()) this.readQueue.push(...b.waiters);
      this.readsInFlight.clear();
    }
    if (this.leaderWaits.length === 0) return;
    const keep: { to: NodeId; waiter: Waiter<void> }[] = [];
    for (const w of this.leaderWaits) {
      if (w.to === leader) w.waiter.resolve();
      else keep.push(w);
    }
    this.leaderWaits = keep;
  }

  /** Rejects, with `Timeout`, every waiter whose deadline is at or before `now`. */
  expire(now: number): void {
    // Queued proposals are in arrival order, which is deadline order: stop at the first one still in time.
    // They were never proposed.
    let late = 0;
    while (late < this.queued.length && this.queued[late].waiter.deadline <= now) late++;
    if (late > 0) {
      const err = new RaftNodeError(
        'Timeout',
        `the proposal waited ${this.limits.proposalTimeoutMs} ms for the node to take it (writes or applies are ` +
          'slow); it was not proposed',
      );
      this.counters.proposalsTimedOut += late;
      for (const q of this.queued.splice(0, late)) q.waiter.reject(err);
    }
    // Proposals in the log are in index order, which is (nearly) deadline order: stop at the first in time.
    for (const [index, p] of this.proposals) {
      if (p.waiter.deadline > now) break;
      this.proposals.delete(index);
      this.counters.proposalsTimedOut++;
      const msg = `entry ${index} was not applied within ${this.limits.proposalTimeoutMs} ms; it may still be`;
      p.waiter.reject(new RaftNodeError('Timeout', msg));
    }
    this.readQueue = this.keepInTime(this.readQueue, (w) => w, now);
    for (const [key, b] of this.readsInFlight) {
      if (b.deadline > now) continue;
      // A batch mixes callers of different ages (reads queued behind a slow Ready, or moved from a previous
      // leader): each expires by its own deadline, the others keep waiting for the batch's answer.
      b.waiters = this.keepInTime(b.waiters, (w) => w, now);
      if (b.waiters.length === 0) this.readsInFlight.delete(key);
      else b.deadline = earliestDeadline(b.waiters);
    }
    this.appliedWaits = this.keepInTime(this.appliedWaits, (w) => w.waiter, now);
    if (this.leaderWaits.some((w) => w.waiter.deadline <= now)) {
      this.leaderWaits = this.leaderWaits.filter((w) => {
        if (w.waiter.deadline > now) return true;
        const msg = `leadership did not move to '${w.to}' within ${this.limits.readTimeoutMs} ms`;
        w.waiter.reject(new RaftNodeError('Timeout', msg));
        return false;
      });
    }
  }

  /** Rejects every waiter with `err` (the node stopped or failed). */
  rejectAll(err: RaftNodeError): void {
    for (const q of this.takeQueuedProposals()) q.waiter.reject(err);
    for (const p of this.proposals.values()) p.waiter.reject(err);
    this.proposals.clear();
    for (const w of this.readQueue) w.reject(err);
    this.readQueue = [];
    for (const b of this.readsInFlight.values()) for (const w of b.waiters) w.reject(err);
    this.readsInFlight.clear();
    for (const w of this.appliedWaits) w.waiter.reject(err);
    this.appliedWaits = [];
    for (const w of this.leaderWaits) w.waiter.reject(err);
    this.leaderWaits = [];
  }

  /** The reads of `items` still in time at `now`; the others reject with `Timeout`. */
  private keepInTime<T>(items: T[], waiterOf: (item: T) => Waiter<void>, now: number): T[] {
    if (!items.some((it) => waiterOf(it).deadline <= now)) return items;
    return items.filter((it) => {
      const w = waiterOf(it);
      if (w.deadline > now) return true;
      this.counters.readIndexTimedOut++;
      const msg = `read barrier not confirmed within ${this.limits.readTimeoutMs} ms (leader lost?); retry`;
      w.reject(new RaftNodeError('Timeout', msg));
      return false;
    });
  }

  private dropped(index: number): RaftNodeError {
    const msg = `the proposal at index ${index} was replaced by a new leader's entry; retry it`;
    return new RaftNodeError('ProposalDropped', msg);
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
