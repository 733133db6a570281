import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import {
  EntryType,
  type LeaderChange,
  type RaftLogger,
  type RaftModuleOptions,
  RaftNode,
  type RaftNodeStatus,
  type StateMachine,
  type AppliedEntry,
  createRaftNode,
  isRaftNodeError,
} from '@sofareg/raft';
import {
  type MetaChange,
  type MetaCommand,
  type MetaPeers,
  MetaStateMachine,
  type MetaStateValue,
  encodeMetaCommand,
} from '@sofareg/meta-core';

/** Events of a {@link MetaStore}. */
export interface MetaStoreEvents {
  /** A command (or a snapshot) was applied; `changes` says what it changed. */
  applied: [MetaChange[]];
  /** Leadership moved, or this node's role changed; `leader` is the leader's client address or undefined while unknown. */
  leader: [string | undefined];
}

/** Stable codes of {@link MetaStoreError}. */
export type MetaStoreErrorCode = 'NotLeader' | 'Unavailable' | 'Unknown';

/**
 * A refused or failed write. `NotLeader`: nothing was written; retry at `leader` (client gRPC address) or
 * `leaderHttp` (admin), '' when no leader is known. `Unavailable`: maybe written, maybe not (a timeout, a
 * leader change, a stopped node); retry (every meta command is idempotent).
 */
export class MetaStoreError extends Error {
  override readonly name = 'MetaStoreError';
  constructor(
    readonly code: MetaStoreErrorCode,
    message: string,
    readonly leader = '',
    readonly leaderHttp = '',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The replicated store behind meta. `propose` resolves once the command is committed and applied on this
 * node; it rejects with a {@link MetaStoreError} (`NotLeader` with the leader's address on a follower).
 */
export interface MetaStore extends EventEmitter<MetaStoreEvents> {
  readonly state: MetaStateValue;
  /** This node's Raft id. */
  readonly nodeId: string;
  isLeader(): boolean;
  /** The client-facing (gRPC 9610) address of the leader, when known. */
  leaderAddress(): string | undefined;
  /** The HTTP admin address of the leader, when known. */
  leaderHttpAddress(): string | undefined;
  /** The leader's Raft node id, when known. */
  leaderId(): string | undefined;
  propose(cmd: MetaCommand): Promise<void>;
  /** Resolves once this node has applied everything committed before the call (a Raft read barrier). */
  barrier(): Promise<void>;
  /** Hands leadership to `to` (default: the most caught-up other voter); resolves with the new leader's id. */
  transferLeadership(to?: string): Promise<string>;
  /** Raft status (term, members, progress), JSON-serializable. */
  raftStatus(): RaftNodeStatus | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The meta state machine as the Raft shell's {@link StateMachine}: application entries carry a command; the
 * leader's empty entries and membership changes only advance the applied index.
 */
function asRaftStateMachine(machine: MetaStateMachine): StateMachine<MetaChange[]> {
  return {
    apply: (entry: AppliedEntry) =>
      machine.applyEntry(entry.index, entry.type === EntryType.Normal ? entry.data : undefined),
    snapshot: () => machine.snapshot(),
    restore: (data) => machine.restore(data),
  };
}

/** Settings of a {@link RaftMetaStore}. */
export interface RaftMetaStoreOptions {
  nodeId: string;
  peers: MetaPeers;
  /** The Raft log, hard state and snapshots go to `<dataDir>/raft`. */
  dataDir: string;
  /** Where the Raft transport listens (`host:port`); default this node's Raft address in `peers`. */
  listen?: string;
  tickMs?: number;
  /** Take a snapshot every this many applied entries (default 10,000). */
  snapshotEntries?: number;
  /** Deadline of one write (default 5 s). */
  proposalTimeoutMs?: number;
  logger?: RaftLogger;
}

/**
 * The meta store on a Raft group: a {@link RaftNode} with file storage under `<dataDir>/raft` and the gRPC
 * transport on this node's Raft port. A group of one node is a valid group (it commits alone).
 */
export class RaftMetaStore extends EventEmitter<MetaStoreEvents> implements MetaStore {
  private readonly machine = new MetaStateMachine((changes) => this.emit('applied', changes));
  private node: RaftNode | undefined;
  private ownsNode = false;

  constructor(private readonly options: RaftMetaStoreOptions) {
    super();
  }

  get state(): MetaStateValue {
    return this.machine.state;
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  isLeader(): boolean {
    return this.node?.isLeader ?? false;
  }

  leaderId(): string | undefined {
    return this.node?.leaderId || undefined;
  }

  leaderAddress(): string | undefined {
    const id = this.leaderId();
    return id ? this.options.peers[id]?.grpc : undefined;
  }

  leaderHttpAddress(): string | undefined {
    const id = this.leaderId();
    return id ? this.options.peers[id]?.http : undefined;
  }

  raftStatus(): RaftNodeStatus | undefined {
    return this.node?.status();
  }

  /**
   * How `RaftModule` builds this store's node: file storage under `<dataDir>/raft`, the gRPC transport on the
   * Raft port, this store's state machine.
   */
  raftModuleOptions(): RaftModuleOptions {
    return {
      id: this.options.nodeId,
      peers: Object.fromEntries(Object.values(this.options.peers).map((p) => [p.id, p.raft])),
      dataDir: path.join(this.options.dataDir, 'raft'),
      stateMachine: asRaftStateMachine(this.machine),
      listen: this.options.listen,
      node: {
        tickMs: this.options.tickMs ?? 50,
        snapshotEntries: this.options.snapshotEntries ?? 10_000,
        proposalTimeoutMs: this.options.proposalTimeoutMs ?? 5_000,
      },
      logger: this.options.logger,
    };
  }

  /**
   * Serves on a node that its owner started with {@link raftModuleOptions} (in the meta app, `RaftModule`, which
   * also stops it). Call before {@link start}.
   */
  attach(node: RaftNode): this {
    this.node = node;
    this.ownsNode = false;
    return this;
  }

  /** Starts the node itself unless one was attached, then reports leadership as it moves. */
  async start(): Promise<void> {
    if (!this.node) {
      this.node = await createRaftNode(this.raftModuleOptions());
      this.ownsNode = true;
    }
    this.node.onLeaderChange((c: LeaderChange) => {
      void c;
      this.emit('leader', this.leaderAddress());
    });
    if (this.node.leaderId) this.emit('leader', this.leaderAddress());
  }

  /** Stops the node if this store started it; an attached node is its owner's to stop. */
  async stop(): Promise<void> {
    if (this.ownsNode) await this.node?.stop();
  }

  async propose(cmd: MetaCommand): Promise<void> {
    const node = this.node;
    if (!node) throw new MetaStoreError('Unavailable', 'the meta store is not started');
    try {
      await node.propose(encodeMetaCommand(cmd));
    } catch (e) {
      throw this.translate(e);
    }
  }

  async barrier(): Promise<void> {
    const node = this.node;
    if (!node) throw new MetaStoreError('Unavailable', 'the meta store is not started');
    try {
      await node.readIndex();
    } catch (e) {
      throw this.translate(e);
    }
  }

  async transferLeadership(to?: string): Promise<string> {
    const node = this.node;
    if (!node) throw new MetaStoreError('Unavailable', 'the meta store is not started');
    if (!node.isLeader) throw this.notLeader();
    const st = node.status();
    const target = to ?? pickSuccessor(st);
    if (!target)
      throw new MetaStoreError(
        'Unavailable',
        'no other voter to hand leadership to (a one-node group cannot quit the election)',
      );
    try {
      await node.transferLeadership(target);
    } catch (e) {
      throw this.translate(e);
    }
    return target;
  }

  private notLeader(): MetaStoreError {
    const leader = this.leaderAddress() ?? '';
    const where = leader ? `the leader is ${this.leaderId()} at ${leader}` : 'no leader is known yet; retry shortly';
    const message = `meta node ${this.options.nodeId} is not the leader: ${where}`;
    return new MetaStoreError('NotLeader', message, leader, this.leaderHttpAddress() ?? '');
  }

  private translate(e: unknown): Error {
    if (isRaftNodeError(e, 'NotLeader')) return this.notLeader();
    if (isRaftNodeError(e)) {
      if (e.code === 'InvalidArgument') return e;
      return new MetaStoreError(
        'Unavailable',
        `meta write failed (${e.code}): ${e.message}; retry`,
        this.leaderAddress() ?? '',
        this.leaderHttpAddress() ?? '',
        { cause: e },
      );
    }
    return e instanceof Error ? e : new MetaStoreError('Unknown', String(e));
  }
}

/** The voter (other than the leader) with the highest match index; undefined without one. */
function pickSuccessor(st: RaftNodeStatus): string | undefined {
  let best: string | undefined;
  let bestMatch = -1;
  for (const v of [...st.conf.voters].sort()) {
    if (v === st.id) continue;
    const match = st.progress?.[v]?.match ?? 0;
    if (match > bestMatch) {
      best = v;
      bestMatch = match;
    }
  }
  return best;
}
