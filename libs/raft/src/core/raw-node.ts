import { RaftError } from './errors';
import { ProgressState } from './progress';
import { ProposeResult, Raft, RaftConfig, RaftCounters } from './raft';
import {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  MessageType,
  NodeId,
  ReadState,
  Role,
  Snapshot,
  SnapshotMeta,
  SoftState,
  hardStateEqual,
  isLocalMessage,
  makeMessage,
} from './types';

/**
 * One batch of work the application must do, in this order:
 * 1. persist `snapshot` (if any), then `entries`, then `hardState` (if any) — durably when `mustSync`;
 * 2. send `messages` (only after step 1: a vote or an acknowledgement must never precede its fsync);
 * 3. apply `snapshot` (if any) and then `committedEntries` to the state machine, serve `readStates` once the
 *    state machine has applied their index;
 * 4. call `advance(rd)`.
 * Nothing in a Ready may be reordered or skipped. While a Ready is outstanding (between `ready()` and
 * `advance()`), `tick`, `step` and proposals may continue; `hasReady()` answers false.
 */
export interface Ready {
  /** Leader and role, when they changed since the previous Ready. */
  softState?: SoftState;
  /** Term, vote and commit to persist, when they changed. */
  hardState?: HardState;
  /** Read indexes confirmed since the previous Ready, in request order. */
  readStates: ReadState[];
  /** Entries to append to stable storage (may replace a suffix of what is there). */
  entries: Entry[];
  /** A snapshot to persist and load into the state machine. */
  snapshot?: Snapshot;
  /** Entries known committed, to apply in order. */
  committedEntries: Entry[];
  /** Messages to send after persisting. */
  messages: Message[];
  /** Whether the writes must be fsynced (false when only the commit index moved). */
  mustSync: boolean;
}

/** One follower's replication state as the leader sees it. */
export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  paused: boolean;
  inflight: number;
  recentActive: boolean;
  learner: boolean;
}

/** A snapshot of a node's state for monitoring and tests. */
export interface Status {
  id: NodeId;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  conf: ConfState;
  /** Per-member replication progress; only on the leader. */
  progress?: Record<NodeId, ProgressStatus>;
  leadTransferee: NodeId;
  counters: RaftCounters;
}

/**
 * The synchronous, single-threaded face of a Raft node (as etcd's RawNode). Not safe for concurrent use: the
 * shell serializes calls. No clock, timer, randomness or I/O inside: time is `tick()`, input is `step()`,
 * output is {@link Ready}.
 *
 * Restart: give it the same storage (hard state, entries, snapshot) and `applied` = the index the state
 * machine restored to (default: the snapshot index); committed entries after it come back in Ready.
 */
export class RawNode {
  private readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private outstanding: Ready | undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoft = this.raft.softState();
    // A bootstrapped node must persist the term-1 entries and hard state it created.
    const stored = config.storage.initialState().hardState;
    this.prevHard = stored;
  }

  /** This node's id. */
  get id(): NodeId {
    return this.raft.id;
  }

  /** Advances logical time by one tick (election and heartbeat timers). */
  tick(): void {
    this.raft.tick();
  }

  /**
   * Processes a message received from a peer. Local-only kinds (Hup, Beat, Prop, SnapStatus) are dropped and
   * counted; use the dedicated methods instead.
   */
  step(m: Message): void {
    if (isLocalMessage(m.type)) {
      this.raft.counters.droppedLocalFromNetwork++;
      return;
    }
    this.raft.step(m);
  }

  /** Starts an election now (pre-vote first when enabled). No-op on a leader or a non-voter. */
  campaign(): void {
    this.raft.step(makeMessage({ type: MessageType.Hup, from: this.id, to: this.id }));
  }

  /**
   * Proposes one entry. On the leader it is appended at once and `{ok, index, term}` says where: the
   * proposal succeeded iff the entry later committed at `index` has that `term`. Otherwise returns why not.
   */
  propose(data: Uint8Array): ProposeResult {
    return this.raft.propose([data]);
  }

  /** Proposes several entries as one batch (same result contract; `index` is the last one's). */
  proposeBatch(datas: readonly Uint8Array[]): ProposeResult {
    if (datas.length === 0) throw new RaftError('ContractViolation', 'proposeBatch: empty batch');
    return this.raft.propose(datas);
  }

  /**
   * Proposes one membership change. Takes effect when appended (on every node, as the entry reaches it);
   * only one may be uncommitted at a time, a learner is promoted (AddVoter) only once caught up, and the
   * leader cannot remove itself.
   */
  proposeConfChange(cc: ConfChange): ProposeResult {
    return this.raft.proposeConfChange(cc);
  }

  /**
   * Requests a linearizable read point for `context` (unique per request). The answer comes as a
   * {@link ReadState} in a later Ready, possibly never (leader change): callers time out and retry.
   */
  readIndex(context: Uint8Array): void {
    this.raft.step(makeMessage({ type: MessageType.ReadIndex, from: this.id, to: this.id, context }));
  }

  /** Asks the leader (this node or the one it knows) to hand leadership to `to`. */
  transferLeader(to: NodeId): void {
    this.raft.step(makeMessage({ type: MessageType.TransferLeader, from: to, to: this.id }));
  }

  /** Reports whether a snapshot sent to `to` was delivered (`ok`) or failed, so the leader resumes. */
  reportSnapshot(to: NodeId, ok: boolean): void {
    this.raft.step(makeMessage({ type: MessageType.SnapStatus, from: to, to: this.id, reject: !ok }));
  }

  /** The membership in force at log index `i`, for building a snapshot at an applied index. */
  confStateAt(i: number): ConfState {
    return this.raft.confStateAt(i);
  }

  /**
   * The metadata a snapshot of the state machine at applied index `i` must carry, or undefined when the log no
   * longer knows `i` (a newer snapshot from the leader is being installed: skip this snapshot). Throws
   * `ContractViolation` if `i` is beyond the applied index.
   */
  snapshotMetaAt(i: number): SnapshotMeta | undefined {
    if (i > this.raft.log.applied)
      throw new RaftError('ContractViolation', `snapshot at ${i} beyond applied ${this.raft.log.applied}`);
    const term = this.raft.log.term(i);
    if (term === undefined || i < this.raft.oldestConfIndex()) return undefined;
    return { index: i, term, conf: this.raft.confStateAt(i) };
  }

  /** True when `ready()` has work. False while a Ready is outstanding. */
  hasReady(): boolean {
    if (this.outstanding) return false;
    const r = this.raft;
    if (r.needsFlush()) return true;
    const ss = r.softState();
    if (ss.leader !== this.prevSoft.leader || ss.role !== this.prevSoft.role) return true;
    if (!hardStateEqual(r.hardState(), this.prevHard)) return true;
    if (r.log.unstable.snapshot) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.log.unstableEntries().length > 0) return true;
    return r.log.hasNextCommittedEntries();
  }

  /**
   * Takes the pending work. Call `advance(rd)` when done; calling `ready()` again before that throws
   * RaftError `ContractViolation`.
   */
  ready(): Ready {
    if (this.outstanding) throw new RaftError('ContractViolation', 'ready() called again before advance()');
    const r = this.raft;
    r.flush();
    const rd: Ready = {
      readStates: r.readStates,
      entries: r.log.unstableEntries().slice(),
      committedEntries: r.log.nextCommittedEntries(),
      messages: r.msgs,
      mustSync: false,
    };
    const ss = r.softState();
    if (ss.leader !== this.prevSoft.leader || ss.role !== this.prevSoft.role) {
      rd.softState = ss;
      this.prevSoft = ss;
    }
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.prevHard)) {
      rd.hardState = hs;
      rd.mustSync = hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote;
      this.prevHard = hs;
    }
    if (r.log.unstable.snapshot) rd.snapshot = r.log.unstable.snapshot;
    if (rd.entries.length > 0 || rd.snapshot) rd.mustSync = true;
    r.msgs = [];
    r.readStates = [];
    this.outstanding = rd;
    return rd;
  }

  /** Acknowledges that `rd` was fully handled (persisted, sent, applied). */
  advance(rd: Ready): void {
    if (rd !== this.outstanding)
      throw new RaftError('ContractViolation', 'advance() with a Ready that is not the outstanding one');
    this.outstanding = undefined;
    const log = this.raft.log;
    if (rd.snapshot) {
      log.stableSnapTo(rd.snapshot.meta.index);
      if (rd.snapshot.meta.index > log.applied) log.applied = rd.snapshot.meta.index;
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1];
      log.stableTo(last.index, last.term);
    }
    if (rd.committedEntries.length > 0) {
      const n = rd.committedEntries[rd.committedEntries.length - 1].index;
      if (n > log.applied) log.appliedTo(n);
    }
  }

  /** Whether a Ready is outstanding (taken but not yet advanced). */
  hasOutstandingReady(): boolean {
    return this.outstanding !== undefined;
  }

  /** The node's state, including replication progress on the leader and the ignored-input counters. */
  status(): Status {
    const r = this.raft;
    const st: Status = {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.log.applied,
      firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(),
      conf: { voters: [...r.conf.voters], learners: [...r.conf.learners] },
      leadTransferee: r.leadTransferee,
      counters: { ...r.counters },
    };
    if (r.role === Role.Leader) {
      st.progress = {};
      for (const [id, pr] of r.progress) {
        st.progress[id] = {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          paused: pr.isPaused(),
          inflight: pr.inflights.count(),
          recentActive: pr.recentActive,
          learner: pr.isLearner,
        };
      }
    }
    return st;
  }

  /** Basic state accessors (cheap; for drivers and tests). */
  get role(): Role {
    return this.raft.role;
  }
  get leader(): NodeId {
    return this.raft.lead;
  }
  get term(): number {
    return this.raft.term;
  }
  get commitIndex(): number {
    return this.raft.log.committed;
  }
  get appliedIndex(): number {
    return this.raft.log.applied;
  }
  get lastIndex(): number {
    return this.raft.log.lastIndex();
  }

  /** Term of log entry `i` if still known (for matching proposals to committed entries). */
  termAt(i: number): number | undefined {
    return this.raft.log.term(i);
  }
}
