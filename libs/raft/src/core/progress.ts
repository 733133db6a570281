import { RaftError } from './errors';

/**
 * A bounded FIFO of the last index of each AppendEntries message in flight to one follower. When full, the
 * leader stops sending new entries to that follower until acknowledgements free slots. The bound makes the
 * replication pipeline deep but never unbounded.
 */
export class Inflights {
  private readonly buf: number[];
  private start = 0;
  private n = 0;

  /** @param capacity maximum messages in flight (≥ 1). */
  constructor(readonly capacity: number) {
    if (capacity < 1) throw new RaftError('InvalidConfig', 'inflight capacity must be at least 1');
    this.buf = new Array<number>(capacity).fill(0);
  }

  /** Records a message whose last entry is `index`. Indexes must not decrease. Throws when full. */
  add(index: number): void {
    if (this.full()) throw new RaftError('Invariant', 'inflights: add while full');
    this.buf[(this.start + this.n) % this.capacity] = index;
    this.n++;
  }

  /** Frees every message whose last index is ≤ `to` (they were acknowledged). */
  freeLE(to: number): void {
    while (this.n > 0 && this.buf[this.start] <= to) {
      this.start = (this.start + 1) % this.capacity;
      this.n--;
    }
    if (this.n === 0) this.start = 0;
  }

  /** Frees the oldest message (after a heartbeat answer, to recover from lost appends). */
  freeFirst(): void {
    if (this.n > 0) this.freeLE(this.buf[this.start]);
  }

  /** True when no more messages may be sent. */
  full(): boolean {
    return this.n === this.capacity;
  }

  /** Number of messages in flight. */
  count(): number {
    return this.n;
  }

  /** Forgets everything (used when a follower goes back to probing). */
  reset(): void {
    this.start = 0;
    this.n = 0;
  }

  /** The in-flight indexes, oldest first (for tests and status). */
  toArray(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.n; i++) out.push(this.buf[(this.start + i) % this.capacity]);
    return out;
  }
}

/**
 * How the leader replicates to one follower:
 * - `Probe`: the follower's log position is unknown; send one append, then wait for its answer (or the next
 *   heartbeat answer) before sending another.
 * - `Replicate`: the follower accepted recently; stream appends optimistically, up to the inflight bound.
 * - `Snapshot`: a snapshot is on its way; send nothing else until it is reported applied or failed.
 */
export enum ProgressState {
  Probe = 'Probe',
  Replicate = 'Replicate',
  Snapshot = 'Snapshot',
}

/** The leader's view of one follower's log. */
export class Progress {
  /** Highest index known to match the leader's log. */
  match = 0;
  /** Next index to send. */
  next: number;
  state = ProgressState.Probe;
  /** In Probe: an append was sent and no answer has come since. */
  probeSent = false;
  /** In Snapshot: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Send tick of the newest heartbeat this follower acknowledged (leases). */
  heartbeatAckTick = -Infinity;
  /** Highest commit index sent to this follower (so an idle follower is told a new commit only once). */
  sentCommit = 0;
  readonly inflights: Inflights;

  constructor(
    next: number,
    maxInflight: number,
    public isLearner: boolean,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** Back to probing from just after the match (or after a snapshot that was sent). */
  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  /** Start streaming after the match. */
  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  /** A snapshot at `snapshotIndex` is being sent. */
  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /**
   * The follower acknowledged up to `n`. Returns false when the ack is stale (not newer than the match).
   */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** An append with entries up to `last` was sent (optimistically advance next in Replicate). */
  sentEntries(last: number, hadEntries: boolean): void {
    if (this.state === ProgressState.Replicate) {
      if (hadEntries) {
        this.next = last + 1;
        this.inflights.add(last);
      }
    } else if (this.state === ProgressState.Probe) {
      this.probeSent = true;
    }
  }

  /**
   * The follower rejected an append at `rejected` and hinted that its log matches at most up to `matchHint`.
   * Returns false when the rejection is stale and must be ignored.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** True when the leader must not send more appends to this follower now. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }
}
