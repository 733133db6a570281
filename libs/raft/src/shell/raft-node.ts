import { randomBytes } from 'node:crypto';
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  NONE,
  type NodeId,
  type ProgressStatus,
  type ProposeResult,
  type RaftCounters,
  RawNode,
  type Ready,
  Role,
  type Snapshot,
  applyReady,
  decodeConfChange,
} from '../core';
import type { LogStoreStats } from '../storage';
import { DurableState } from './durable-state';
import { RaftNodeError, type RaftNodeErrorCode, notLeaderError } from './errors';
import { PeerDirectory } from './peer-directory';
import { checkAddress } from './peers';
import { PendingRequests, type Waiter } from './pending-requests';
import { type RaftNodeOptions, type ResolvedRaftNodeOptions, resolveRaftNodeOptions } from './raft-node-options';
import { type ShellCounters, newShellCounters } from './shell-counters';
import { decodeSnapshotEnvelope, encodeSnapshotEnvelope } from './snapshot-envelope';
import type { TransportStats } from './transport';

export type { RaftLogger, RaftNodeOptions } from './raft-node-options';
export type { ShellCounters } from './shell-counters';

/** Lifecycle of a {@link RaftNode}. */
export type RaftNodeState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** What `RaftNode.status()` reports (JSON-serializable). */
export interface RaftNodeStatus {
  id: NodeId;
  state: RaftNodeState;
  role: Role;
  leader: NodeId;
  leaderAddress: string;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  conf: ConfState;
  /** Known addresses of the members (and of nodes being added). */
  peers: Record<NodeId, string>;
  /** Replication progress per member; leader only. */
  progress?: Record<NodeId, ProgressStatus>;
  leadTransferee: NodeId;
  pendingProposals: number;
  /** Ignored input counted by the core (stale terms, unknown peers, refused proposals…). */
  raft: RaftCounters;
  shell: ShellCounters;
  transport: TransportStats;
  log: LogStoreStats;
  /** Why the node failed, when `state` is `failed`. */
  failure?: string;
}

/** A change of the leader as this node sees it (`leader` is '' while none is known). */
export interface LeaderChange {
  leader: NodeId;
  leaderAddress: string;
  term: number;
  /** This node's role after the change. */
  role: Role;
}

/**
 * How often a moved commit index (alone) is written. It is re-learned from the leader after a crash, so
 * rarely is enough; each write (a file replaced with two fsyncs) competes with the log's fsyncs.
 */
const COMMIT_FLUSH_MS = 5_000;

const enc = new TextEncoder();

function isThenable<T>(v: unknown): v is PromiseLike<T> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** A waiter for `resolve`/`reject` of a promise, expiring `ms` from now (wall clock). */
function waiter<T>(resolve: (v: T) => void, reject: (e: unknown) => void, ms: number): Waiter<T> {
  return { resolve, reject, deadline: Date.now() + ms };
}

/** The key of a read request's context (hex). */
function contextKey(ctx: Uint8Array): string {
  return Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString('hex');
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * A production Raft node: drives the pure core ({@link RawNode}) on real time, with durable storage, a
 * transport and the application's `StateMachine`.
 *
 * Every Ready is handled in the core's documented order: (1) its snapshot, entries and hard state are made
 * durable (one log write and one fsync for the whole batch), (2) its messages are sent, (3) its snapshot and
 * committed entries are applied and read barriers released, (4) `advance`. Proposals, messages and ticks that
 * arrive meanwhile go into the next Ready, which batches them: the busier the node, the larger the batch.
 *
 * Results are promises: `propose` resolves with the state machine's result once the entry is applied on
 * this node, or rejects with a {@link RaftNodeError} whose `code` says whether retrying is safe. All methods
 * are safe to call from anywhere on the event loop.
 */
export class RaftNode<R = unknown> {
  private readonly opts: ResolvedRaftNodeOptions<R>;
  private raw: RawNode | undefined;
  private durable: DurableState | undefined;
  private lifecycle: RaftNodeState = 'new';
  private failure: unknown;
  private ticker: NodeJS.Timeout | undefined;
  private readonly peers: PeerDirectory;

  private readonly requests: PendingRequests;
  private readonly readCtxPrefix = randomBytes(8);
  private readSeq = 0;

  private applied = 0;
  private lastSnapshotIndex = 0;
  private snapshotting = false;
  private kickScheduled = false;
  private lastCommitFlush = 0;
  private lastTickAt = Date.now();
  private loop: Promise<void> | undefined;
  private leader: NodeId = NONE;
  private role: Role = Role.Follower;
  private readonly listeners = new Set<(c: LeaderChange) => void>();
  private readonly failListeners = new Set<(e: unknown) => void>();
  private readonly counters: ShellCounters = newShellCounters();

  constructor(options: RaftNodeOptions<R>) {
    this.opts = resolveRaftNodeOptions(options);
    this.peers = new PeerDirectory(this.opts.peers, this.opts.transport);
    this.requests = new PendingRequests(this.opts, this.counters);
  }

  /** This node's id. */
  get id(): NodeId {
    return this.opts.id;
  }

  /** The lifecycle state. */
  get state(): RaftNodeState {
    return this.lifecycle;
  }

  /**
   * Loads the durable state, restores the state machine from the latest snapshot, starts the transport and
   * the tick timer. Entries committed after the snapshot are applied again (the state machine is rebuilt).
   * Rejects (and leaves the node `failed`, storage closed) when the storage is corrupt (`RaftStorageCorrupt`
   * names the file), the address cannot be bound, or the saved state is inconsistent.
   */
  async start(): Promise<void> {
    if (this.lifecycle !== 'new') throw new RaftNodeError('Stopped', `RaftNode '${this.id}' was already started`);
    this.lifecycle = 'starting';
    try {
      const { state, loaded } = await DurableState.load(this.opts.storage);
      this.durable = state;
      const snapIndex = loaded.snapshot?.meta.index ?? 0;
      if (loaded.snapshot && snapIndex > 0) {
        const env = decodeSnapshotEnvelope(loaded.snapshot.data);
        this.peers.restore(env.addresses);
        await this.opts.stateMachine.restore(env.data);
      }
      this.applied = snapIndex;
      this.lastSnapshotIndex = snapIndex;
      for (const e of state.mirror.allEntries()) this.peers.learnFrom(e);
      const empty = loaded.lastIndex === 0 && loaded.hardState.term === 0;
      this.raw = new RawNode({
        id: this.id,
        storage: state.mirror,
        random: this.opts.random,
        electionTick: this.opts.electionTicks,
        heartbeatTick: this.opts.heartbeatTicks,
        applied: snapIndex,
        maxSizePerMsg: this.opts.maxSizePerMsg,
        maxInflightMsgs: this.opts.maxInflightMsgs,
        maxUncommittedEntriesSize: this.opts.maxUncommittedBytes,
        bootstrapVoters: empty && !this.opts.join ? Object.keys(this.opts.peers).sort() : undefined,
      });
      this.peers.announceAll();
      await this.opts.transport.start(this.id, {
        receive: (ms) => this.receive(ms),
        snapshotStatus: (to, ok) => this.snapshotStatus(to, ok),
      });
      if (this.state !== 'starting')
        throw new RaftNodeError('Stopped', `RaftNode '${this.id}' was stopped while starting`);
      this.lifecycle = 'running';
      this.lastTickAt = Date.now();
      this.ticker = setInterval(() => this.tick(), this.opts.tickMs);
      this.ticker.unref();
      this.opts.logger.info(
        {
          node: this.id,
          term: loaded.hardState.term,
          commit: loaded.hardState.commit,
          firstIndex: loaded.firstIndex,
          lastIndex: loaded.lastIndex,
          snapshotIndex: snapIndex,
        },
        'raft node started',
      );
      this.kick();
    } catch (e) {
      if (this.state === 'stopping') {
        // stop() was called meanwhile: it closes what was opened.
        await this.opts.transport.stop().catch(() => undefined);
        throw e;
      }
      this.lifecycle = 'failed';
      this.failure = e;
      await this.opts.transport.stop().catch(() => undefined);
      await this.opts.storage.close().catch(() => undefined);
      throw e;
    }
  }

  /**
   * Stops the node: the tick timer, the Ready in progress (waited for), the transport, then the storage
   * (after a last write of the commit index). Pending proposals and reads reject with `Stopped`. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.lifecycle === 'stopped' || this.lifecycle === 'stopping') {
      while (this.lifecycle === 'stopping') await new Promise((r) => setImmediate(r));
      return;
    }
    const wasFailed = this.lifecycle === 'failed';
    this.lifecycle = 'stopping';
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    await this.loop?.catch(() => undefined);
    this.requests.rejectAll(
      new RaftNodeError('Stopped', `Raft node '${this.id}' stopped; the outcome of pending proposals is unknown`),
    );
    await this.opts.transport
      .stop()
      .catch((e) => this.opts.logger.warn({ node: this.id, err: errorText(e) }, 'raft transport stop failed'));
    if (this.durable && !wasFailed) await this.durable.drain();
    await this.opts.storage
      .close()
      .catch((e) => this.opts.logger.warn({ node: this.id, err: errorText(e) }, 'raft storage close failed'));
    this.lifecycle = wasFailed ? 'failed' : 'stopped';
  }

  /**
   * Replicates `data` and resolves with the state machine's result once the entry is applied on this node.
   * Rejects with RaftNodeError: `NotLeader` (carrying the leader's id and address), `Backpressure`,
   * `TransferInProgress`, `InvalidArgument` (too large), `ProposalDropped` (lost to a new leader: safe to
   * retry), `Timeout`/`OutcomeUnknown`/`Stopped` (may or may not be applied), `ApplyFailed`, `Failed`.
   */
  propose(data: Uint8Array): Promise<R> {
    const err = this.checkRunning();
    if (err) return Promise.reject(err);
    if (!(data instanceof Uint8Array))
      return Promise.reject(new RaftNodeError('InvalidArgument', 'propose: data must be a Uint8Array'));
    if (data.byteLength > this.opts.maxProposalBytes) {
      const message = `propose: ${data.byteLength} bytes is over maxProposalBytes ${this.opts.maxProposalBytes}`;
      return Promise.reject(new RaftNodeError('InvalidArgument', message));
    }
    const raw = this.raw as RawNode;
    if (raw.role !== Role.Leader) {
      this.counters.proposalsRejected++;
      return Promise.reject(this.notLeader());
    }
    if (this.requests.proposalCount >= this.opts.maxPendingProposals) {
      this.counters.proposalsRejected++;
      const message = `${this.opts.maxPendingProposals} proposals are pending on '${this.id}'; retry later`;
      return Promise.reject(new RaftNodeError('Backpressure', message));
    }
    this.counters.proposals++;
    return new Promise<R>((resolve, reject) => {
      this.requests.queueProposal(data, waiter(resolve as (v: unknown) => void, reject, this.opts.proposalTimeoutMs));
      this.kick();
    });
  }

  /**
   * A linearizable read barrier: resolves once this node's state machine has applied everything committed
   * before the call (confirmed with a quorum by the leader), so a read of it now is linearizable. Works on
   * followers too. Rejects with `NotLeader` when no leader is known, `Timeout`, `Stopped`, `Failed`.
   */
  readIndex(): Promise<void> {
    const err = this.checkRunning();
    if (err) return Promise.reject(err);
    const raw = this.raw as RawNode;
    if (raw.leader === NONE) return Promise.reject(this.notLeader());
    if (this.requests.readCount >= this.opts.maxPendingProposals) {
      const message = `${this.opts.maxPendingProposals} reads are pending on '${this.id}'; retry later`;
      return Promise.reject(new RaftNodeError('Backpressure', message));
    }
    this.counters.readIndexRequests++;
    return new Promise<void>((resolve, reject) => {
      this.requests.queueRead(waiter(resolve, reject, this.opts.readTimeoutMs));
      this.kick();
    });
  }

  /**
   * Hands leadership to voter `to` (called on any node; forwarded to the leader). Resolves once this node
   * sees `to` lead; rejects with `InvalidArgument` (not a voter), `Timeout`, `Stopped`.
   */
  transferLeadership(to: NodeId): Promise<void> {
    const err = this.checkRunning();
    if (err) return Promise.reject(err);
    const raw = this.raw as RawNode;
    const conf = raw.status().conf;
    if (!conf.voters.includes(to))
      return Promise.reject(new RaftNodeError('InvalidArgument', `transferLeadership: '${to}' is not a voter`));
    if (raw.leader === to) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.requests.waitForLeader(to, waiter(resolve, reject, this.opts.readTimeoutMs));
      raw.transferLeader(to);
      this.kick();
    });
  }

  /**
   * Adds `id` (listening at `address`) as a voter, or promotes a caught-up learner. Resolves with the new
   * membership once the change is applied here. Leader only. Rejects with `NotLeader`, `ConfChangePending`
   * (one change at a time), `InvalidConfChange`, `Timeout`, `Stopped`.
   */
  addVoter(id: NodeId, address?: string): Promise<ConfState> {
    return this.changeMembership({ type: ConfChangeType.AddVoter, nodeId: id }, address);
  }

  /** Adds `id` (listening at `address`) as a learner: it receives the log but does not vote. As {@link addVoter}. */
  addLearner(id: NodeId, address: string): Promise<ConfState> {
    return this.changeMembership({ type: ConfChangeType.AddLearner, nodeId: id }, address);
  }

  /** Removes `id` from the group (the leader cannot remove itself: transfer leadership first). As {@link addVoter}. */
  removeNode(id: NodeId): Promise<ConfState> {
    return this.changeMembership({ type: ConfChangeType.RemoveNode, nodeId: id });
  }

  /** The node's state and counters. Cheap enough to poll; JSON-serializable. */
  status(): RaftNodeStatus {
    const raw = this.raw;
    const transport = this.opts.transport.stats();
    const log = this.opts.storage.log.stats();
    const base = {
      id: this.id,
      state: this.lifecycle,
      peers: this.peers.all(),
      pendingProposals: this.requests.proposalCount,
      shell: { ...this.counters },
      transport,
      log,
      failure: this.failure === undefined ? undefined : errorText(this.failure),
    };
    if (!raw) {
      return {
        ...base,
        role: Role.Follower,
        leader: NONE,
        leaderAddress: '',
        term: 0,
        vote: NONE,
        commit: 0,
        applied: 0,
        firstIndex: 0,
        lastIndex: 0,
        snapshotIndex: 0,
        conf: { voters: [], learners: [] },
        leadTransferee: NONE,
        raft: {
          droppedStaleTerm: 0,
          droppedUnknownPeer: 0,
          droppedLocalFromNetwork: 0,
          droppedProposals: 0,
          droppedReadIndex: 0,
          ignoredVotesInLease: 0,
        },
      };
    }
    const st = raw.status();
    return {
      ...base,
      role: st.softState.role,
      leader: st.softState.leader,
      leaderAddress: this.peers.addressOf(st.softState.leader),
      term: st.hardState.term,
      vote: st.hardState.vote,
      commit: st.hardState.commit,
      applied: this.applied,
      firstIndex: st.firstIndex,
      lastIndex: st.lastIndex,
      snapshotIndex: this.durable?.mirror.snapshotIndex() ?? 0,
      conf: st.conf,
      progress: st.progress,
      leadTransferee: st.leadTransferee,
      raft: st.counters,
    };
  }

  /** The leader this node knows ('' when none). */
  get leaderId(): NodeId {
    return this.raw?.leader ?? NONE;
  }

  /** Whether this node is the leader now. */
  get isLeader(): boolean {
    return this.raw?.role === Role.Leader;
  }

  /** Calls `listener` on every change of leader or of this node's role. Returns the unsubscribe function. */
  onLeaderChange(listener: (change: LeaderChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` once if the node fails (a storage write failed…); the node is then stopped. */
  onFailure(listener: (error: unknown) => void): () => void {
    this.failListeners.add(listener);
    return () => this.failListeners.delete(listener);
  }

  /** Resolves with the leader's id once one is known (or rejects with `Timeout`). */
  async waitForLeader(timeoutMs = 10_000): Promise<NodeId> {
    if (this.leaderId !== NONE) return this.leaderId;
    return new Promise<NodeId>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new RaftNodeError('Timeout', `no leader elected within ${timeoutMs} ms (node '${this.id}')`));
      }, timeoutMs);
      const off = this.onLeaderChange((c) => {
        if (c.leader !== NONE) {
          clearTimeout(timer);
          off();
          resolve(c.leader);
        }
      });
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Input.

  private checkRunning(): RaftNodeError | undefined {
    if (this.lifecycle === 'running') return undefined;
    if (this.lifecycle === 'failed') {
      return new RaftNodeError('Failed', `Raft node '${this.id}' failed: ${errorText(this.failure)}; restart it`, {
        cause: this.failure,
      });
    }
    return new RaftNodeError('Stopped', `Raft node '${this.id}' is ${this.lifecycle}`);
  }

  private notLeader(): RaftNodeError {
    const leader = this.raw?.leader ?? NONE;
    return notLeaderError(this.id, leader, this.peers.addressOf(leader));
  }

  private changeMembership(cc: ConfChange, address?: string): Promise<ConfState> {
    const err = this.checkRunning();
    if (err) return Promise.reject(err);
    if (typeof cc.nodeId !== 'string' || !cc.nodeId)
      return Promise.reject(new RaftNodeError('InvalidArgument', 'node id must be a non-empty string'));
    if (address !== undefined) {
      try {
        checkAddress(address, `membership change of '${cc.nodeId}'`);
      } catch (e) {
        return Promise.reject(e);
      }
      cc.context = enc.encode(address);
    } else if (cc.type !== ConfChangeType.RemoveNode && !this.peers.has(cc.nodeId)) {
      return Promise.reject(new RaftNodeError('InvalidArgument', `the address of '${cc.nodeId}' is unknown: pass it`));
    }
    const raw = this.raw as RawNode;
    const r = raw.proposeConfChange(cc);
    if (!r.ok) return Promise.reject(this.refused(r));
    this.kick();
    return new Promise<ConfState>((resolve, reject) => {
      const w = waiter(resolve as (v: unknown) => void, reject, this.opts.proposalTimeoutMs);
      this.requests.track(r.index, { term: r.term, conf: true, waiter: w });
    });
  }

  private refused(r: Extract<ProposeResult, { ok: false }>): RaftNodeError {
    this.counters.proposalsRejected++;
    if (r.code === 'NotLeader') return this.notLeader();
    return new RaftNodeError(r.code as RaftNodeErrorCode, r.message, {
      leaderId: r.leader,
      leaderAddress: this.peers.addressOf(r.leader),
    });
  }

  private receive(ms: Message[]): void {
    if (this.lifecycle !== 'running') return;
    const raw = this.raw as RawNode;
    this.counters.messagesReceived += ms.length;
    try {
      for (const m of ms) raw.step(m);
    } catch (e) {
      this.fail(e, 'stepping a received message');
      return;
    }
    this.kick();
  }

  private snapshotStatus(to: NodeId, ok: boolean): void {
    if (this.lifecycle !== 'running') return;
    (this.raw as RawNode).reportSnapshot(to, ok);
    if (!ok) this.opts.logger.warn({ node: this.id, to }, 'sending a snapshot failed; the leader will retry');
    this.kick();
  }

  private tick(): void {
    if (this.lifecycle !== 'running') return;
    const now = Date.now();
    // A tick far later than planned means this process was stalled (GC, blocking work, CPU starvation): as a
    // leader its heartbeats stopped meanwhile, and followers may have elected another leader.
    const late = now - this.lastTickAt - this.opts.tickMs;
    this.lastTickAt = now;
    if (late > (this.opts.tickMs * this.opts.electionTicks) / 2) {
      this.counters.stalls++;
      this.opts.logger.warn(
        { node: this.id, stalledMs: late, role: this.role },
        'raft tick ran late: the event loop was stalled',
      );
    }
    try {
      (this.raw as RawNode).tick();
    } catch (e) {
      this.fail(e, 'tick');
      return;
    }
    this.requests.expire(now);
    if (now - this.lastCommitFlush >= COMMIT_FLUSH_MS) {
      this.lastCommitFlush = now;
      this.durable?.flushCommit()?.catch((e) => this.fail(e, 'saving the hard state'));
    }
    this.kick();
  }

  // ---------------------------------------------------------------------------------------------------------
  // The Ready loop.

  private kick(): void {
    if (this.kickScheduled || this.lifecycle !== 'running') return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.lifecycle !== 'running' || this.loop) return;
    this.flushInputs();
    if (!(this.raw as RawNode).hasReady()) return;
    this.loop = this.runLoop().finally(() => {
      this.loop = undefined;
    });
  }

  private async runLoop(): Promise<void> {
    const raw = this.raw as RawNode;
    try {
      while (this.lifecycle === 'running' && raw.hasReady()) {
        await this.handleReady(raw, raw.ready());
        await this.maybeSnapshot();
        this.flushInputs();
      }
    } catch (e) {
      this.fail(e, 'handling a Ready');
    }
  }

  /** Hands queued proposals to the core as one batch, and queued reads as one read-index request. */
  private flushInputs(): void {
    const raw = this.raw as RawNode;
    const batch = this.requests.takeQueuedProposals();
    if (batch.length > 0) {
      const r = raw.proposeBatch(batch.map((q) => q.data));
      if (r.ok) {
        const first = r.index - batch.length + 1;
        for (let i = 0; i < batch.length; i++) {
          this.requests.track(first + i, { term: r.term, conf: false, waiter: batch[i].waiter });
        }
      } else {
        const err = this.refused(r);
        this.counters.proposalsRejected += batch.length - 1;
        for (const q of batch) q.waiter.reject(err);
      }
    }
    // Without a known leader the request would be dropped: keep the callers queued until one is known.
    if (this.requests.hasQueuedReads && raw.leader !== NONE) {
      const ctx = Buffer.alloc(16);
      this.readCtxPrefix.copy(ctx, 0);
      ctx.writeUInt32BE(Math.floor(this.readSeq / 2 ** 32), 8);
      ctx.writeUInt32BE(this.readSeq % 2 ** 32, 12);
      this.readSeq++;
      this.requests.sendQueuedReads(ctx.toString('hex'));
      raw.readIndex(new Uint8Array(ctx.buffer, ctx.byteOffset, ctx.length));
    }
  }

  /**
   * Handles one Ready through the core's {@link applyReady} (persist, send, apply, advance). The pipelined
   * overlaps happen inside `persist`, which still resolves only once the Ready's writes are durable: a leader's
   * messages leave while its own write runs, and committed entries that were durable before this Ready (and
   * that it does not rewrite) are applied meanwhile. The later steps skip what was done early.
   */
  private async handleReady(raw: RawNode, rd: Ready): Promise<void> {
    this.counters.readyBatches++;
    const durable = this.durable as DurableState;
    const pipelining = this.opts.pipelining && !rd.snapshot && !durable.changesTermOrVote(rd.hardState);
    // Index of the last entry durable before this Ready's writes.
    const durableLast = this.opts.storage.log.lastIndex();
    for (const e of rd.entries) this.peers.learnFrom(e);
    const sendEarly = pipelining && rd.messages.length > 0 && raw.role === Role.Leader;
    // A Ready whose hard state moved only its commit index writes nothing now (see DurableState).
    const writes = rd.snapshot !== undefined || rd.entries.length > 0 || durable.changesTermOrVote(rd.hardState);
    const n = rd.committedEntries.length;
    const lastCommitted = n > 0 ? rd.committedEntries[n - 1].index : 0;
    const rewritten = rd.entries.length > 0 && rd.entries[0].index <= lastCommitted;
    const applyEarly = pipelining && writes && n > 0 && lastCommitted <= durableLast && !rewritten;
    await applyReady(raw, rd, {
      persist: async (r) => {
        if (sendEarly) this.send(r.messages);
        let persisting: Promise<void> | undefined;
        if (writes || r.hardState) {
          persisting = this.persist(durable, r);
          // Awaited below, but only after the early apply: a failed write must not surface as an unhandled
          // rejection meanwhile (the await still throws it).
          persisting.catch(() => undefined);
        }
        if (applyEarly) {
          await new Promise<void>((resolve) => setImmediate(resolve)); // let the write start first
          await this.applyCommitted(r.committedEntries);
        }
        if (persisting) await persisting;
        this.counters.entriesPersisted += r.entries.length;
      },
      send: (ms) => {
        if (!sendEarly && ms.length > 0) this.send(ms);
      },
      apply: async (r) => {
        if (r.snapshot) await this.installSnapshot(r.snapshot);
        if (!applyEarly) await this.applyCommitted(r.committedEntries);
        for (const rs of r.readStates) this.requests.readConfirmed(contextKey(rs.context), rs.index);
        this.requests.applied(this.applied);
      },
    });
    if (rd.softState) this.onSoftState(rd.softState.leader, rd.softState.role);
  }

  private async persist(durable: DurableState, rd: Ready): Promise<void> {
    const t0 = process.hrtime.bigint();
    if (await durable.persist(rd)) {
      this.counters.persistMicros += Number((process.hrtime.bigint() - t0) / 1000n);
      this.counters.persists++;
    }
  }

  private async applyCommitted(es: Entry[]): Promise<void> {
    for (const e of es) {
      const r = this.applyEntry(e);
      if (r) await r;
    }
  }

  private send(ms: Message[]): void {
    this.counters.messagesSent += ms.length;
    this.opts.transport.send(ms);
  }

  private applyEntry(e: Entry): Promise<void> | undefined {
    const conf = e.type === EntryType.ConfChange;
    if (conf) this.applyConfChange(e);
    let result: unknown;
    let error: unknown;
    try {
      result = this.opts.stateMachine.apply(e);
    } catch (err) {
      error = err ?? new Error('apply threw');
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (v) => this.finishApply(e, v, undefined),
        (err: unknown) => this.finishApply(e, undefined, err ?? new Error('apply rejected')),
      );
    }
    this.finishApply(e, result, error);
    return undefined;
  }

  private finishApply(e: Entry, result: unknown, error: unknown): void {
    this.applied = e.index;
    this.counters.entriesApplied++;
    // A membership change resolves its proposer with the new membership, whatever the state machine did.
    this.requests.settleApplied(e, result, error, () => (this.raw as RawNode).confStateAt(e.index));
  }

  private applyConfChange(e: Entry): void {
    const cc = decodeConfChange(e.data);
    if (cc.type === ConfChangeType.RemoveNode) {
      if (cc.nodeId === this.id) {
        this.opts.logger.warn({ node: this.id, index: e.index }, 'this node was removed from the Raft group; stop it');
      } else {
        this.peers.forget(cc.nodeId);
      }
    } else {
      this.peers.learnFrom(e);
    }
    this.opts.logger.info(
      { node: this.id, index: e.index, change: ConfChangeType[cc.type], member: cc.nodeId },
      'membership change applied',
    );
  }

  private async installSnapshot(s: Snapshot): Promise<void> {
    const env = decodeSnapshotEnvelope(s.data);
    this.peers.merge(env.addresses);
    await this.opts.stateMachine.restore(env.data);
    this.applied = s.meta.index;
    this.lastSnapshotIndex = s.meta.index;
    this.counters.snapshotsInstalled++;
    this.requests.coveredBySnapshot(s.meta.index);
    this.opts.logger.info(
      { node: this.id, index: s.meta.index, term: s.meta.term, bytes: s.data.length },
      'installed a snapshot from the leader',
    );
  }

  /** Takes a snapshot every `snapshotEntries` applied entries; its saving and the compaction run in the background. */
  private async maybeSnapshot(): Promise<void> {
    const every = this.opts.snapshotEntries;
    if (every === 0 || this.snapshotting || this.applied - this.lastSnapshotIndex < every) return;
    const raw = this.raw as RawNode;
    const index = this.applied;
    const meta = raw.snapshotMetaAt(index);
    if (!meta) return; // a newer snapshot from the leader is being installed
    const t0 = Date.now();
    const data = await this.opts.stateMachine.snapshot();
    const took = Date.now() - t0;
    if (took > (this.opts.tickMs * this.opts.electionTicks) / 2) {
      this.opts.logger.warn(
        { node: this.id, index, ms: took, electionTimeoutMs: this.opts.tickMs * this.opts.electionTicks },
        'the state machine took long to snapshot: the node was deaf meanwhile (a leader may lose its leadership); serialize in slices or less often',
      );
    }
    const snap: Snapshot = { meta, data: encodeSnapshotEnvelope({ addresses: this.peers.all(), data }) };
    this.snapshotting = true;
    this.lastSnapshotIndex = index;
    const compactTo = index - this.opts.compactionKeepEntries;
    (this.durable as DurableState)
      .saveOwnSnapshot(snap, compactTo)
      .then(
        () => {
          this.counters.snapshotsTaken++;
          this.opts.logger.info(
            { node: this.id, index, bytes: snap.data.length, compactedTo: Math.max(0, compactTo) },
            'snapshot taken, log compacted',
          );
        },
        (e: unknown) => this.fail(e, 'saving a snapshot'),
      )
      .finally(() => {
        this.snapshotting = false;
      });
  }

  private onSoftState(leader: NodeId, role: Role): void {
    if (leader === this.leader && role === this.role) return;
    const changedLeader = leader !== this.leader;
    this.leader = leader;
    this.role = role;
    if (changedLeader) this.counters.leaderChanges++;
    const raw = this.raw as RawNode;
    const change: LeaderChange = { leader, leaderAddress: this.peers.addressOf(leader), term: raw.term, role };
    if (changedLeader) {
      this.opts.logger.info(
        { node: this.id, leader, term: raw.term, role },
        leader ? 'raft leader changed' : 'raft leader lost',
      );
    }
    this.requests.leaderChanged(leader, changedLeader);
    if (leader !== NONE && this.requests.hasQueuedReads) this.kick();
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (e) {
        this.opts.logger.warn({ node: this.id, err: errorText(e) }, 'a leader-change listener threw');
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Deadlines and failure.

  private fail(e: unknown, during: string): void {
    if (this.lifecycle !== 'running') return;
    this.failure = e;
    this.lifecycle = 'failed';
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.opts.logger.error({ node: this.id, during, err: errorText(e) }, 'raft node failed and stopped; restart it');
    this.requests.rejectAll(
      new RaftNodeError('Failed', `Raft node '${this.id}' failed while ${during}: ${errorText(e)}`, { cause: e }),
    );
    void this.opts.transport.stop().catch(() => undefined);
    for (const l of this.failListeners) {
      try {
        l(e);
      } catch {
        // A failure listener must not mask the failure.
      }
    }
  }
}
