import {
  applyConfChangeTo,
  cloneConfState,
  confMembers,
  confStateEqual,
  decodeConfChange,
  encodeConfChange,
} from './conf-change';
import { RaftError } from './errors';
import { RaftLog } from './log';
import { Progress, ProgressState } from './progress';
import { VoteResult, hasQuorum, majorityCommitIndex, voteResult } from './quorum';
import { RandomSource } from './random';
import { Storage } from './storage';
import {
  ConfChange,
  ConfChangeType,
  ConfState,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  NONE,
  NodeId,
  ReadState,
  Role,
  Snapshot,
  SoftState,
  entrySize,
  isResponseMessage,
  makeMessage,
} from './types';

/** How ReadIndex confirms leadership. */
export enum ReadOnlyOption {
  /** A heartbeat round acknowledged by a quorum confirms the leader (always linearizable). */
  Safe = 'Safe',
  /**
   * The leader answers at once while it holds a lease: a quorum acknowledged heartbeats it sent less than
   * `electionTick - 1` ticks ago, and followers refuse votes for an election timeout after hearing from it
   * (and after their own restart). Saves the round trip; linearizable only while the nodes' tick rates
   * differ by less than the one-tick margin. Requires `checkQuorum`. After sending TimeoutNow (leader
   * transfer) a leader answers no more lease reads in its term.
   */
  LeaseBased = 'LeaseBased',
}

/** Settings of one node. Everything but `id`, `storage` and `random` has a default. */
export interface RaftConfig {
  /** This node's id (non-empty). */
  id: NodeId;
  /** The node's persisted state, read at start and while running. */
  storage: Storage;
  /** Seeded randomness for the election timeout jitter. */
  random: RandomSource;
  /** Ticks without a leader's word before a follower campaigns (randomized in [n, 2n)). Default 10. */
  electionTick?: number;
  /** Ticks between leader heartbeats; must be below electionTick. Default 1. */
  heartbeatTick?: number;
  /** Index already applied by the state machine at start (default: the snapshot index). */
  applied?: number;
  /** Byte bound of the entries in one append message. Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Append messages in flight per follower in Replicate state. Default 256. */
  maxInflightMsgs?: number;
  /** Bytes of uncommitted entries the leader accepts before dropping proposals. Default 64 MiB. */
  maxUncommittedEntriesSize?: number;
  /** Byte bound of committed entries handed out in one Ready. Default 16 MiB. */
  maxCommittedSizePerReady?: number;
  /** Read-index requests that may wait for the leader's first commit in its term. Default 4096. */
  maxPendingReadIndex?: number;
  /** Leader steps down without a quorum of recent answers; followers ignore votes while in lease. Default true. */
  checkQuorum?: boolean;
  /** Run a pre-vote round before bumping the term (a partitioned node cannot disrupt). Default true. */
  preVote?: boolean;
  /** How ReadIndex is confirmed. Default Safe. */
  readOnlyOption?: ReadOnlyOption;
  /**
   * For a brand-new cluster only: the initial voters. When the storage is empty, the node writes one
   * AddVoter entry per voter at term 1 and treats them as committed; every initial member must be given the
   * same list. Ignored when the storage holds any state. Nodes joining later start empty, without it.
   */
  bootstrapVoters?: NodeId[];
}

/** Why a proposal was not accepted. */
export type ProposeErrorCode =
  /** This node is not the leader; `leader` names the known leader ('' if none). */
  | 'NotLeader'
  /** A leadership transfer is in progress. */
  | 'TransferInProgress'
  /** Too many bytes of uncommitted entries. */
  | 'Backpressure'
  /** Another membership change has not committed yet, or the leader has not committed in its term. */
  | 'ConfChangePending'
  /** The membership change makes no sense (see `message`). */
  | 'InvalidConfChange';

/** The result of a proposal: where the entry went, or why it was refused. */
export type ProposeResult =
  { ok: true; index: number; term: number } | { ok: false; code: ProposeErrorCode; leader: NodeId; message: string };

/** Counters of ignored input, reported by `status()`. */
export interface RaftCounters {
  /** Messages from an older term (ignored or answered with our term). */
  droppedStaleTerm: number;
  /** Answers and votes from nodes outside the membership. */
  droppedUnknownPeer: number;
  /** Local-only message kinds received from the network. */
  droppedLocalFromNetwork: number;
  /** Proposals refused. */
  droppedProposals: number;
  /** Read-index requests dropped (no leader, or the pending queue was full). */
  droppedReadIndex: number;
  /** Vote requests ignored because this node still trusts its leader (check-quorum lease). */
  ignoredVotesInLease: number;
}

/** The context that marks a vote request caused by a leadership transfer (bypasses leases). */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');

function isCampaignTransfer(ctx: Uint8Array | undefined): boolean {
  if (!ctx || ctx.length !== CAMPAIGN_TRANSFER.length) return false;
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== CAMPAIGN_TRANSFER[i]) return false;
  return true;
}

function ctxKey(ctx: Uint8Array): string {
  let s = '';
  for (let i = 0; i < ctx.length; i++) s += ctx[i].toString(16).padStart(2, '0');
  return s;
}

interface ReadRequest {
  key: string;
  index: number;
  from: NodeId;
  context: Uint8Array;
  acks: Set<NodeId>;
}

interface ConfRecord {
  index: number;
  conf: ConfState;
}

const DEFAULTS = {
  electionTick: 10,
  heartbeatTick: 1,
  maxSizePerMsg: 1 << 20,
  maxInflightMsgs: 256,
  maxUncommittedEntriesSize: 64 << 20,
  maxCommittedSizePerReady: 16 << 20,
  maxPendingReadIndex: 4096,
  checkQuorum: true,
  preVote: true,
  readOnlyOption: ReadOnlyOption.Safe,
};

/**
 * The Raft state machine of one node. Pure and synchronous: input arrives through `tick`, `step` and the
 * proposal methods; output accumulates in `msgs`, `readStates` and the log, and is drained by {@link RawNode}.
 * Use RawNode, not this class, from application code.
 *
 * Membership: the configuration in force is the latest ConfChange entry in the log, committed or not (the
 * Raft thesis §4.1 rule), and it changes one node at a time. A leader accepts a change only after the
 * previous one committed and after it committed an entry of its own term, which keeps any two majorities
 * of consecutive configurations overlapping.
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: Role = Role.Follower;
  readonly log: RaftLog;

  /** The membership in force (latest in the log). */
  conf: ConfState = { voters: [], learners: [] };
  /** Membership changes in the log, oldest first; the first is the base (snapshot) membership. */
  private confHistory: ConfRecord[] = [];
  readonly progress = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();

  msgs: Message[] = [];
  readStates: ReadState[] = [];

  private electionElapsed = 0;
  /** Ticks since this node started (the leader's clock for leases). */
  private ticks = 0;
  /** LeaseBased only: refuse votes until an election timeout has passed since start (a promise may be lost in a crash). */
  private startupLease: boolean;
  /** LeaseBased only: TimeoutNow was sent in this term, so another node may be elected at any time. */
  private leaseBroken = false;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  leadTransferee: NodeId = NONE;
  private readQueue: ReadRequest[] = [];
  private pendingReadIndex: Message[] = [];
  private uncommittedSize = 0;
  private needBroadcast = false;
  /** Progresses in Snapshot state seen at the previous election-timeout boundary. */
  private staleSnapshots = new Set<NodeId>();

  readonly counters: RaftCounters = {
    droppedStaleTerm: 0,
    droppedUnknownPeer: 0,
    droppedLocalFromNetwork: 0,
    droppedProposals: 0,
    droppedReadIndex: 0,
    ignoredVotesInLease: 0,
  };

  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly readOnlyOption: ReadOnlyOption;
  private readonly maxMsgSize: number;
  private readonly maxInflight: number;
  private readonly maxUncommittedSize: number;
  private readonly maxPendingReadIndex: number;
  private readonly random: RandomSource;

  constructor(cfg: RaftConfig) {
    const c = { ...DEFAULTS, ...stripUndefined(cfg) };
    if (!c.id) throw new RaftError('InvalidConfig', 'id must be a non-empty string');
    if (c.heartbeatTick <= 0) throw new RaftError('InvalidConfig', 'heartbeatTick must be positive');
    if (c.electionTick <= c.heartbeatTick)
      throw new RaftError('InvalidConfig', 'electionTick must exceed heartbeatTick');
    if (c.maxInflightMsgs < 1) throw new RaftError('InvalidConfig', 'maxInflightMsgs must be at least 1');
    if (c.readOnlyOption === ReadOnlyOption.LeaseBased && !c.checkQuorum) {
      throw new RaftError('InvalidConfig', 'LeaseBased reads require checkQuorum');
    }
    this.id = c.id;
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum;
    this.preVote = c.preVote;
    this.readOnlyOption = c.readOnlyOption;
    this.maxMsgSize = c.maxSizePerMsg;
    this.maxInflight = c.maxInflightMsgs;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize;
    this.maxPendingReadIndex = c.maxPendingReadIndex;
    this.random = c.random;
    this.startupLease = this.readOnlyOption === ReadOnlyOption.LeaseBased;

    this.log = new RaftLog(c.storage, c.maxCommittedSizePerReady);
    const { hardState, confState } = c.storage.initialState();
    const empty = hardState.term === 0 && c.storage.lastIndex() === 0 && confState.voters.length === 0;

    // The stored membership is the snapshot's; the log may start before the snapshot index (a store may keep
    // some entries behind its snapshot), so replay only the membership changes after it.
    const snapIndex = c.storage.snapshot()?.meta.index ?? this.log.firstIndex() - 1;
    const base = Math.max(snapIndex, this.log.firstIndex() - 1);
    this.confHistory = [{ index: base, conf: cloneConfState(confState) }];
    if (this.log.lastIndex() > base) {
      this.recordConfEntries(this.log.slice(base + 1, this.log.lastIndex() + 1));
    }
    this.conf = cloneConfState(this.confHistory[this.confHistory.length - 1].conf);

    if (hardState.commit < this.log.firstIndex() - 1 || hardState.commit > this.log.lastIndex()) {
      throw new RaftError(
        'Invariant',
        `hard state commit ${hardState.commit} outside [${this.log.firstIndex() - 1}, ${this.log.lastIndex()}]`,
      );
    }
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.log.committed = Math.max(hardState.commit, this.log.firstIndex() - 1);
    if (c.applied !== undefined && c.applied > 0) this.log.appliedTo(c.applied);

    if (empty && c.bootstrapVoters && c.bootstrapVoters.length > 0) this.bootstrap(c.bootstrapVoters);
    this.becomeFollower(this.term, NONE);
  }

  private bootstrap(voters: NodeId[]): void {
    const ents: Entry[] = voters.map((v, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.ConfChange,
      data: encodeConfChange({ type: ConfChangeType.AddVoter, nodeId: v }),
    }));
    this.log.append(ents);
    this.log.committed = ents.length;
    this.term = 1;
    this.onAppended(ents);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Membership bookkeeping.

  /** Appends the memberships that `ents` (just written to the log at their indexes) bring in. */
  private recordConfEntries(ents: readonly Entry[]): void {
    for (const e of ents) {
      if (e.type !== EntryType.ConfChange) continue;
      const prev = this.confHistory[this.confHistory.length - 1].conf;
      this.confHistory.push({ index: e.index, conf: applyConfChangeTo(prev, decodeConfChange(e.data)) });
    }
  }

  /** Called after `ents` replaced the log from `ents[0].index` on. */
  private onAppended(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    const from = ents[0].index;
    let changed = false;
    while (this.confHistory.length > 1 && this.confHistory[this.confHistory.length - 1].index >= from) {
      this.confHistory.pop();
      changed = true;
    }
    const before = this.confHistory.length;
    this.recordConfEntries(ents);
    if (this.confHistory.length !== before) changed = true;
    if (changed) this.setConf(this.confHistory[this.confHistory.length - 1].conf);
    this.pruneConfHistory();
  }

  private pruneConfHistory(): void {
    const floor = this.log.storage.firstIndex() - 1;
    while (
      this.confHistory.length > 1 &&
      this.confHistory[1].index <= floor &&
      this.confHistory[1].index <= this.log.committed
    ) {
      this.confHistory.shift();
    }
  }

  /** The membership in force at log index `i` (for snapshots). `i` must be ≥ the oldest kept membership. */
  confStateAt(i: number): ConfState {
    this.pruneConfHistory();
    if (i < this.confHistory[0].index) {
      throw new RaftError('Compacted', `membership at ${i} is no longer known (oldest ${this.confHistory[0].index})`);
    }
    let c = this.confHistory[0].conf;
    for (const r of this.confHistory) {
      if (r.index > i) break;
      c = r.conf;
    }
    return cloneConfState(c);
  }

  /** The oldest index whose membership is still known. */
  oldestConfIndex(): number {
    this.pruneConfHistory();
    return this.confHistory[0].index;
  }

  /** Index of the latest membership change in the log. */
  lastConfIndex(): number {
    return this.confHistory[this.confHistory.length - 1].index;
  }

  private setConf(conf: ConfState): void {
    if (confStateEqual(conf, this.conf)) return;
    this.conf = cloneConfState(conf);
    const members = new Set(confMembers(conf));
    for (const id of [...this.progress.keys()]) if (!members.has(id)) this.progress.delete(id);
    for (const id of this.conf.voters) this.ensureProgress(id, false);
    for (const id of this.conf.learners) this.ensureProgress(id, true);
    if (this.role === Role.Leader) {
      if (this.leadTransferee !== NONE && !this.conf.voters.includes(this.leadTransferee)) this.abortLeaderTransfer();
      if (this.maybeCommit()) this.needBroadcast = true;
      // A membership change may shrink the quorum needed by pending reads.
      this.needBroadcast = true;
    }
  }

  private ensureProgress(id: NodeId, learner: boolean): void {
    const pr = this.progress.get(id);
    if (pr) {
      pr.isLearner = learner;
      return;
    }
    const p = new Progress(this.log.lastIndex() + 1, this.maxInflight, learner);
    if (id === this.id) p.match = this.log.lastIndex();
    this.progress.set(id, p);
  }

  isMember(id: NodeId): boolean {
    return this.conf.voters.includes(id) || this.conf.learners.includes(id);
  }

  /** True when this node is a voter of the membership in force, so it may campaign. */
  promotable(): boolean {
    return this.conf.voters.includes(this.id);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Role transitions.

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random.next() * this.electionTimeout);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.votes.clear();
    this.progress.clear();
    for (const id of this.conf.voters) this.ensureProgress(id, false);
    for (const id of this.conf.learners) this.ensureProgress(id, true);
    this.readQueue = [];
    this.pendingReadIndex = [];
    this.uncommittedSize = 0;
    this.needBroadcast = false;
    this.staleSnapshots.clear();
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = Role.Follower;
  }

  private becomeCandidate(): void {
    if (this.role === Role.Leader) throw new RaftError('Invariant', 'leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
  }

  private becomePreCandidate(): void {
    if (this.role === Role.Leader) throw new RaftError('Invariant', 'leader cannot become pre-candidate');
    this.votes.clear();
    this.lead = NONE;
    this.role = Role.PreCandidate;
  }

  private becomeLeader(): void {
    if (this.role === Role.Follower) throw new RaftError('Invariant', 'follower cannot become leader directly');
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    this.leaseBroken = false;
    const self = this.progress.get(this.id);
    if (self) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // An empty entry of the new term: committing it commits everything before it (§5.4.2), and it gates
    // membership changes and reads until then.
    this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }]);
    this.uncommittedSize = 0;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Sending.

  private send(m: Message): void {
    if (
      m.type === MessageType.Vote ||
      m.type === MessageType.VoteResp ||
      m.type === MessageType.PreVote ||
      m.type === MessageType.PreVoteResp
    ) {
      if (m.term === 0) throw new RaftError('Invariant', `term must be set on ${MessageType[m.type]}`);
    } else {
      m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Sends entries (or a snapshot) to `to` if its progress allows. Returns whether a message was sent. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    let ents: Entry[] | undefined;
    if (prevTerm !== undefined) {
      try {
        ents = this.log.entriesFrom(pr.next, this.maxMsgSize);
      } catch (e) {
        if (!(e instanceof RaftError) || e.code !== 'Compacted') throw e;
        ents = undefined;
      }
    }
    if (prevTerm === undefined || ents === undefined) {
      if (!pr.recentActive) return false;
      const snap = this.log.snapshot();
      if (!snap) return false;
      if (snap.meta.index === 0) throw new RaftError('Invariant', 'need a snapshot but the log holds none');
      pr.becomeSnapshot(snap.meta.index);
      this.send(makeMessage({ type: MessageType.Snap, from: this.id, to, snapshot: snap }));
      return true;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send(
      makeMessage({
        type: MessageType.App,
        from: this.id,
        to,
        index: prevIndex,
        logTerm: prevTerm,
        entries: ents,
        commit: this.log.committed,
      }),
    );
    pr.sentEntries(ents.length > 0 ? ents[ents.length - 1].index : prevIndex, ents.length > 0);
    pr.sentCommit = Math.max(pr.sentCommit, Math.min(this.log.committed, prevIndex + ents.length));
    return true;
  }

  private sendHeartbeat(to: NodeId, ctx?: Uint8Array): void {
    const pr = this.progress.get(to);
    const commit = Math.min(pr ? pr.match : 0, this.log.committed);
    if (pr) pr.sentCommit = Math.max(pr.sentCommit, commit);
    // `index` carries the send tick: the answer proves the follower's lease promise started no earlier.
    const m = makeMessage({ type: MessageType.Heartbeat, from: this.id, to, commit, index: this.ticks });
    if (ctx) m.context = ctx;
    this.send(m);
  }

  private forEachPeer(f: (id: NodeId, pr: Progress) => void): void {
    for (const [id, pr] of this.progress) if (id !== this.id) f(id, pr);
  }

  /** Flushes the appends made since the last flush (proposals are batched until the caller asks for Ready). */
  flush(): void {
    if (this.role === Role.Leader && this.needBroadcast) {
      this.needBroadcast = false;
      this.forEachPeer((id, pr) => {
        let sent = false;
        while (this.maybeSendAppend(id, false)) sent = true;
        // Tell a follower that got no entries the new commit index, once.
        if (!sent && pr.sentCommit < this.log.committed) this.maybeSendAppend(id, true);
      });
    }
  }

  /** True when `flush` would produce messages. */
  needsFlush(): boolean {
    return this.role === Role.Leader && this.needBroadcast;
  }

  private bcastHeartbeat(ctx?: Uint8Array): void {
    this.forEachPeer((id) => this.sendHeartbeat(id, ctx));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Leader bookkeeping.

  /** Advances the commit index to what a quorum holds, if that entry is of the current term (§5.4.2). */
  private maybeCommit(): boolean {
    const mci = majorityCommitIndex(this.conf.voters, (id) => this.progress.get(id)?.match);
    if (mci <= this.log.committed) return false;
    if (this.log.term(mci) !== this.term) return false;
    const old = this.log.committed;
    this.log.commitTo(mci);
    this.onCommitted(old);
    return true;
  }

  private onCommitted(old: number): void {
    if (this.uncommittedSize > 0) {
      for (const e of this.log.slice(old + 1, this.log.committed + 1)) this.uncommittedSize -= entrySize(e);
      if (this.uncommittedSize < 0) this.uncommittedSize = 0;
    }
    if (this.role === Role.Leader && this.pendingReadIndex.length > 0 && this.committedEntryInCurrentTerm()) {
      const pending = this.pendingReadIndex;
      this.pendingReadIndex = [];
      for (const m of pending) this.handleReadIndexAsLeader(m);
    }
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private appendEntries(es: Entry[]): boolean {
    let li = this.log.lastIndex();
    let size = 0;
    for (const e of es) size += entrySize(e);
    if (this.uncommittedSize > 0 && this.uncommittedSize + size > this.maxUncommittedSize) return false;
    for (const e of es) {
      e.term = this.term;
      e.index = ++li;
    }
    this.uncommittedSize += size;
    this.log.append(es);
    this.onAppended(es);
    this.progress.get(this.id)?.maybeUpdate(this.log.lastIndex());
    this.maybeCommit();
    this.needBroadcast = true;
    return true;
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Public input.

  /** Advances logical time by one tick. */
  tick(): void {
    this.ticks++;
    if (this.startupLease && this.ticks >= this.electionTimeout) this.startupLease = false;
    if (this.role === Role.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        const self = this.progress.get(this.id);
        if (self) self.recentActive = true;
        if (!hasQuorum(this.conf.voters, (id) => this.progress.get(id)?.recentActive === true)) {
          this.becomeFollower(this.term, NONE);
          return;
        }
        this.forEachPeer((_id, pr) => (pr.recentActive = false));
      }
      // A snapshot that got no answer within a full election timeout is presumed lost: probe again.
      this.forEachPeer((id, pr) => {
        if (pr.state !== ProgressState.Snapshot) {
          this.staleSnapshots.delete(id);
        } else if (this.staleSnapshots.has(id)) {
          this.staleSnapshots.delete(id);
          pr.becomeProbe();
        } else {
          this.staleSnapshots.add(id);
        }
      });
      if (this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.role !== Role.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  /** Starts an election now (if this node may). */
  hup(transfer: boolean): void {
    if (this.role === Role.Leader) return;
    if (!this.promotable()) return;
    if (transfer || !this.preVote) this.campaign(false, transfer);
    else this.campaign(true, false);
  }

  private campaign(pre: boolean, transfer: boolean): void {
    let term: number;
    let type: MessageType;
    if (pre) {
      this.becomePreCandidate();
      type = MessageType.PreVote;
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      type = MessageType.Vote;
      term = this.term;
    }
    if (this.poll(this.id, true) === VoteResult.Won) {
      if (pre) this.campaign(false, false);
      else this.becomeLeader();
      return;
    }
    for (const id of this.conf.voters) {
      if (id === this.id) continue;
      const m = makeMessage({
        type,
        from: this.id,
        to: id,
        term,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
      });
      if (transfer) m.context = CAMPAIGN_TRANSFER;
      this.send(m);
    }
  }

  private poll(id: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.conf.voters, this.votes);
  }

  /** Processes one message (from the network, or a local one built by RawNode). */
  step(m: Message): void {
    const local = m.from === this.id;
    if (!local && m.from !== NONE && this.conf.voters.length > 0 && !this.isMember(m.from)) {
      if (
        isResponseMessage(m.type) ||
        m.type === MessageType.Vote ||
        m.type === MessageType.PreVote ||
        m.type === MessageType.ReadIndex
      ) {
        this.counters.droppedUnknownPeer++;
        return;
      }
    }
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = isCampaignTransfer(m.context);
        const inLease =
          this.checkQuorum &&
          ((this.lead !== NONE && this.electionElapsed < this.electionTimeout) || this.startupLease);
        if (!force && inLease) {
          this.counters.ignoredVotesInLease++;
          return;
        }
      }
      if (m.type === MessageType.PreVote) {
        // Never change our term for a pre-vote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // A granted pre-vote is for a term we have not entered yet.
      } else if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      this.counters.droppedStaleTerm++;
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.App || m.type === MessageType.Heartbeat)) {
        // A stale leader learns our term (and steps down) from this answer.
        this.send(makeMessage({ type: MessageType.AppResp, from: this.id, to: m.from }));
      } else if (m.type === MessageType.PreVote) {
        this.send(
          makeMessage({ type: MessageType.PreVoteResp, from: this.id, to: m.from, term: this.term, reject: true }),
        );
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(false);
        return;
      case MessageType.Vote:
      case MessageType.PreVote: {
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === MessageType.PreVote && m.term > this.term);
        const resp = m.type === MessageType.Vote ? MessageType.VoteResp : MessageType.PreVoteResp;
        if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
          this.send(makeMessage({ type: resp, from: this.id, to: m.from, term: m.term }));
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(makeMessage({ type: resp, from: this.id, to: m.from, term: this.term, reject: true }));
        }
        return;
      }
    }
    switch (this.role) {
      case Role.Leader:
        this.stepLeader(m);
        return;
      case Role.Candidate:
      case Role.PreCandidate:
        this.stepCandidate(m);
        return;
      case Role.Follower:
        this.stepFollower(m);
        return;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat();
        return;
      case MessageType.ReadIndex:
        this.handleReadIndexAsLeader(m);
        return;
      case MessageType.TransferLeader:
        this.handleTransferLeader(m);
        return;
    }
    const pr = this.progress.get(m.from);
    if (!pr) {
      if (m.from !== this.id) this.counters.droppedUnknownPeer++;
      return;
    }
    switch (m.type) {
      case MessageType.AppResp:
        this.handleAppendResponse(m, pr);
        return;
      case MessageType.HeartbeatResp:
        pr.recentActive = true;
        if (m.index > pr.heartbeatAckTick) pr.heartbeatAckTick = m.index;
        pr.probeSent = false;
        // A full window may be full of lost messages: free one slot so the next append (likely rejected)
        // reveals where the follower really is.
        if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirst();
        if (pr.match < this.log.lastIndex()) this.maybeSendAppend(m.from, true);
        if (m.context) this.handleReadAck(m.from, m.context);
        return;
      case MessageType.SnapStatus:
        if (pr.state !== ProgressState.Snapshot) return;
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        // Wait for the next heartbeat answer before probing again.
        pr.probeSent = true;
        return;
      default:
        return;
    }
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0) nextProbe = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.maybeSendAppend(m.from, true);
      }
      return;
    }
    // A probe answered at the match we already knew also proves the follower in sync there.
    if (!pr.maybeUpdate(m.index) && !(pr.state === ProgressState.Probe && pr.match === m.index)) return;
    if (pr.state === ProgressState.Probe) {
      pr.becomeReplicate();
    } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === ProgressState.Replicate) {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) this.needBroadcast = true;
    while (this.maybeSendAppend(m.from, false)) {
      /* fill the window */
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(m.from);
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.leaseBroken = true;
    this.send(makeMessage({ type: MessageType.TimeoutNow, from: this.id, to }));
  }

  /** LeaseBased: whether a quorum acknowledged heartbeats sent recently enough that no other leader can exist. */
  private holdsLease(): boolean {
    if (!this.checkQuorum || this.leaseBroken) return false;
    const q = majorityCommitIndex(this.conf.voters, (id) =>
      id === this.id ? this.ticks : (this.progress.get(id)?.heartbeatAckTick ?? -Infinity),
    );
    return this.ticks - q < this.electionTimeout - 1;
  }

  private handleTransferLeader(m: Message): void {
    const transferee = m.from;
    const pr = this.progress.get(transferee);
    if (!pr || pr.isLearner) return;
    if (this.leadTransferee !== NONE) {
      if (this.leadTransferee === transferee) return;
      this.abortLeaderTransfer();
    }
    if (transferee === this.id) return;
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    if (pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(transferee);
    } else {
      this.maybeSendAppend(transferee, true);
    }
  }

  private handleReadIndexAsLeader(m: Message): void {
    const ctx = m.context ?? new Uint8Array(0);
    if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id) {
      this.respondReadIndex(m.from, this.log.committed, ctx);
      return;
    }
    if (!this.committedEntryInCurrentTerm()) {
      if (this.pendingReadIndex.length >= this.maxPendingReadIndex) {
        this.counters.droppedReadIndex++;
        return;
      }
      this.pendingReadIndex.push(m);
      return;
    }
    if (this.readOnlyOption === ReadOnlyOption.LeaseBased && this.holdsLease()) {
      this.respondReadIndex(m.from, this.log.committed, ctx);
      return;
    }
    const key = ctxKey(ctx);
    if (!this.readQueue.some((r) => r.key === key)) {
      if (this.readQueue.length >= this.maxPendingReadIndex) {
        this.counters.droppedReadIndex++;
        return;
      }
      this.readQueue.push({ key, index: this.log.committed, from: m.from, context: ctx, acks: new Set([this.id]) });
    }
    this.bcastHeartbeat(ctx);
  }

  private handleReadAck(from: NodeId, ctx: Uint8Array): void {
    const key = ctxKey(ctx);
    const i = this.readQueue.findIndex((r) => r.key === key);
    if (i < 0) return;
    const req = this.readQueue[i];
    req.acks.add(from);
    if (!hasQuorum(this.conf.voters, (id) => req.acks.has(id))) return;
    // Everything queued before this request is confirmed by the same round.
    const done = this.readQueue.splice(0, i + 1);
    for (const r of done) this.respondReadIndex(r.from, r.index, r.context);
  }

  private respondReadIndex(from: NodeId, index: number, ctx: Uint8Array): void {
    if (from === NONE || from === this.id) {
      this.readStates.push({ index, context: ctx });
    } else {
      this.send(makeMessage({ type: MessageType.ReadIndexResp, from: this.id, to: from, index, context: ctx }));
    }
  }

  private stepCandidate(m: Message): void {
    const myResp = this.role === Role.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case MessageType.ReadIndex:
        this.counters.droppedReadIndex++;
        return;
      case myResp: {
        const r = this.poll(m.from, !m.reject);
        if (r === VoteResult.Won) {
          if (this.role === Role.PreCandidate) {
            this.campaign(false, false);
          } else {
            this.becomeLeader();
          }
        } else if (r === VoteResult.Lost) {
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
        if (this.lead === NONE) return;
        this.msgs.push({ ...m, to: this.lead, term: 0 });
        return;
      case MessageType.TimeoutNow:
        this.hup(true);
        return;
      case MessageType.ReadIndex:
        if (this.lead === NONE) {
          this.counters.droppedReadIndex++;
          return;
        }
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, context: m.context ?? new Uint8Array(0) });
        return;
      default:
        return;
    }
  }

  private handleAppendEntries(m: Message): void {
    if (m.index < this.log.committed) {
      this.send(makeMessage({ type: MessageType.AppResp, from: this.id, to: m.from, index: this.log.committed }));
      return;
    }
    const r = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (r) {
      this.onAppended(r.appended);
      this.send(makeMessage({ type: MessageType.AppResp, from: this.id, to: m.from, index: r.lastNew }));
      return;
    }
    const hintIndex = Math.min(m.index, this.log.lastIndex());
    const hint = this.log.findConflictByTerm(hintIndex, m.logTerm);
    this.send(
      makeMessage({
        type: MessageType.AppResp,
        from: this.id,
        to: m.from,
        index: m.index,
        reject: true,
        rejectHint: hint.index,
        logTerm: hint.term,
      }),
    );
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    const r = makeMessage({ type: MessageType.HeartbeatResp, from: this.id, to: m.from, index: m.index });
    if (m.context) r.context = m.context;
    this.send(r);
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (!s) return;
    if (this.restore(s)) {
      this.send(makeMessage({ type: MessageType.AppResp, from: this.id, to: m.from, index: this.log.lastIndex() }));
    } else {
      this.send(makeMessage({ type: MessageType.AppResp, from: this.id, to: m.from, index: this.log.committed }));
    }
  }

  /** Installs a snapshot from the leader if it is newer than what we have. Returns whether it did. */
  private restore(s: Snapshot): boolean {
    if (s.meta.index <= this.log.committed) return false;
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // We already have the log up to the snapshot: just learn that it is committed.
      this.log.commitTo(s.meta.index);
      return false;
    }
    // Memberships recorded at committed indexes stay true (the committed prefix is everyone's), so an entry
    // being applied from an earlier Ready can still ask for its membership; the rest is replaced.
    const committed = this.log.committed;
    this.confHistory = this.confHistory.filter((r) => r.index <= committed);
    this.confHistory.push({ index: s.meta.index, conf: cloneConfState(s.meta.conf) });
    this.log.restore(s);
    this.setConf(s.meta.conf);
    return true;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Proposals.

  private notLeader(): ProposeResult {
    this.counters.droppedProposals++;
    return { ok: false, code: 'NotLeader', leader: this.lead, message: `not the leader (leader: '${this.lead}')` };
  }

  private refuse(code: ProposeErrorCode, message: string): ProposeResult {
    this.counters.droppedProposals++;
    return { ok: false, code, leader: this.lead, message };
  }

  /** Appends application entries as one batch (leader only). */
  propose(datas: readonly Uint8Array[]): ProposeResult {
    if (this.role !== Role.Leader) return this.notLeader();
    if (!this.progress.has(this.id)) return this.notLeader();
    if (this.leadTransferee !== NONE)
      return this.refuse('TransferInProgress', `leadership moving to '${this.leadTransferee}'`);
    const es: Entry[] = datas.map((d) => ({ term: 0, index: 0, type: EntryType.Normal, data: d }));
    if (!this.appendEntries(es)) return this.refuse('Backpressure', 'too many uncommitted bytes; retry later');
    return { ok: true, index: es[es.length - 1].index, term: this.term };
  }

  /** Appends one membership change (leader only); see the class comment for the rules. */
  proposeConfChange(cc: ConfChange): ProposeResult {
    if (this.role !== Role.Leader) return this.notLeader();
    if (this.leadTransferee !== NONE)
      return this.refuse('TransferInProgress', `leadership moving to '${this.leadTransferee}'`);
    if (!this.committedEntryInCurrentTerm())
      return this.refuse('ConfChangePending', 'leader has not committed in its term yet');
    if (this.lastConfIndex() > this.log.committed)
      return this.refuse('ConfChangePending', 'a membership change is still uncommitted');
    if (!cc.nodeId) return this.refuse('InvalidConfChange', 'node id is empty');
    const isVoter = this.conf.voters.includes(cc.nodeId);
    const isLearner = this.conf.learners.includes(cc.nodeId);
    switch (cc.type) {
      case ConfChangeType.AddVoter:
        if (isVoter) return this.refuse('InvalidConfChange', `'${cc.nodeId}' is already a voter`);
        if (isLearner) {
          const pr = this.progress.get(cc.nodeId);
          if (!pr || pr.match < this.log.committed) {
            return this.refuse(
              'InvalidConfChange',
              `learner '${cc.nodeId}' has not caught up (match ${pr?.match ?? 0} < commit ${this.log.committed})`,
            );
          }
        }
        break;
      case ConfChangeType.AddLearner:
        if (isVoter) return this.refuse('InvalidConfChange', `'${cc.nodeId}' is a voter; remove it first to demote`);
        if (isLearner) return this.refuse('InvalidConfChange', `'${cc.nodeId}' is already a learner`);
        break;
      case ConfChangeType.RemoveNode:
        if (!isVoter && !isLearner) return this.refuse('InvalidConfChange', `'${cc.nodeId}' is not a member`);
        if (cc.nodeId === this.id)
          return this.refuse('InvalidConfChange', 'the leader cannot remove itself; transfer leadership first');
        break;
      default:
        return this.refuse('InvalidConfChange', `unknown change type ${String(cc.type)}`);
    }
    const e: Entry = { term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) };
    if (!this.appendEntries([e])) return this.refuse('Backpressure', 'too many uncommitted bytes; retry later');
    return { ok: true, index: e.index, term: this.term };
  }

  /** Whether broadcast work is pending or messages/read states wait to be drained. */
  hasOutput(): boolean {
    return this.msgs.length > 0 || this.readStates.length > 0 || this.needsFlush();
  }
}

function stripUndefined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}
