import { randomInt } from 'node:crypto';
import { type NodeId, type RandomSource, SeededRandom } from '../core';
import type { RaftStorage } from '../storage';
import { RaftNodeError } from './errors';
import { type PeerAddresses, checkAddress } from './peers';
import type { StateMachine } from './state-machine';
import type { RaftTransport } from './transport';

/** A pino-compatible logger (only these methods are used). */
export interface RaftLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/**
 * Settings of a {@link RaftNode}. Everything but `id`, `storage`, `transport`, `stateMachine` and `peers` has a
 * default.
 */
export interface RaftNodeOptions<R = unknown> {
  /** This node's id: a key of `peers`. */
  id: NodeId;
  /**
   * The node's durable state (`openRaftStorage(dir)`, or `createMemoryRaftStorage()` in tests). Owned: closed by
   * `stop()`.
   */
  storage: RaftStorage;
  /** How messages reach the other nodes (`GrpcTransport`, or `LocalTransport` in tests). Owned: stopped by `stop()`. */
  transport: RaftTransport;
  /** The replicated application. */
  stateMachine: StateMachine<R>;
  /**
   * Where the members listen, this node included (see `parsePeers`). For a brand-new group every initial
   * member must be given the same ids: they become the first voters. A node joining later (`join`) must be
   * given at least the current members, so it can answer them.
   */
  peers: PeerAddresses;
  /**
   * Start empty and wait to be added by the leader (`addVoter`/`addLearner`) instead of founding a group.
   * Ignored once the storage holds state. Default false.
   */
  join?: boolean;
  /**
   * Milliseconds per Raft tick. Default 50: with the default 10-tick election timeout a follower campaigns
   * 0.5–1 s after the leader's last heartbeat, so a new leader is elected well within 2 s.
   */
  tickMs?: number;
  /** Ticks without a leader before campaigning (randomized in [n, 2n)). Default 10. */
  electionTicks?: number;
  /** Ticks between the leader's heartbeats. Default 1. */
  heartbeatTicks?: number;
  /** Take a snapshot and compact the log every this many applied entries; 0 disables. Default 10,000. */
  snapshotEntries?: number;
  /** Entries kept below a snapshot so slightly slow followers catch up from the log. Default 1,000. */
  compactionKeepEntries?: number;
  /** Deadline of a proposal (and of a membership change), after which it rejects with `Timeout`. Default 10 s. */
  proposalTimeoutMs?: number;
  /** Deadline of `readIndex()` and of `transferLeadership()`. Default 5 s. */
  readTimeoutMs?: number;
  /**
   * Proposals (and, separately, read barriers) waiting before new ones are refused with `Backpressure`. Default
   * 65,536.
   */
  maxPendingProposals?: number;
  /** Largest proposal, in bytes (`InvalidArgument` above). Default 4 MiB. */
  maxProposalBytes?: number;
  /** Byte bound of the entries in one append message. Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Append messages in flight per follower. Default 256. */
  maxInflightMsgs?: number;
  /** Bytes of uncommitted entries the leader accepts before answering `Backpressure`. Default 64 MiB. */
  maxUncommittedBytes?: number;
  /**
   * Overlap a Ready's fsync with the work that does not depend on it (etcd does both):
   * - a leader sends the Ready's messages while its own entries are being fsynced (Raft thesis §10.2.1);
   * - committed entries that were already durable before this Ready are applied (and their proposers
   *   answered) while this Ready's entries are being fsynced.
   * Nothing becomes visible early: the leader acknowledges no entry, and tells nobody of a commit, before its
   * own write of that entry completed (the next Ready waits for it), and a Ready that changes the term or vote
   * or carries a snapshot is handled strictly in order. The commit latency drops from two fsyncs plus a round
   * trip to about one fsync plus a round trip. Default true; false handles every Ready strictly in order
   * (persist, send, apply).
   */
  pipelining?: boolean;
  /** Randomness for election timeouts. Default: seeded from the OS's cryptographic source. */
  random?: RandomSource;
  /** Where the node logs leader changes, snapshots and failures. Default: warnings and errors to stderr. */
  logger?: RaftLogger;
}

const DEFAULTS = {
  join: false,
  tickMs: 50,
  electionTicks: 10,
  heartbeatTicks: 1,
  snapshotEntries: 10_000,
  compactionKeepEntries: 1_000,
  proposalTimeoutMs: 10_000,
  readTimeoutMs: 5_000,
  maxPendingProposals: 65_536,
  maxProposalBytes: 4 << 20,
  maxSizePerMsg: 1 << 20,
  maxInflightMsgs: 256,
  maxUncommittedBytes: 64 << 20,
  pipelining: true,
};

const STDERR_LOGGER: RaftLogger = {
  info: () => undefined,
  warn: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'warn', msg, ...obj })}\n`),
  error: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'error', msg, ...obj })}\n`),
};

/** {@link RaftNodeOptions} with every default filled in. Frozen. */
export type ResolvedRaftNodeOptions<R = unknown> = Readonly<
  Required<Omit<RaftNodeOptions<R>, 'random' | 'logger'>> & { random: RandomSource; logger: RaftLogger }
>;

const POSITIVE = [
  'tickMs',
  'electionTicks',
  'heartbeatTicks',
  'proposalTimeoutMs',
  'readTimeoutMs',
  'maxPendingProposals',
  'maxProposalBytes',
  'maxSizePerMsg',
  'maxInflightMsgs',
  'maxUncommittedBytes',
] as const;

/**
 * Fills in the defaults (options given as `undefined` count as not given) and validates once. Throws
 * `InvalidArgument` naming the bad option.
 */
export function resolveRaftNodeOptions<R>(options: RaftNodeOptions<R>): ResolvedRaftNodeOptions<R> {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as RaftNodeOptions<R>;
  const resolved = {
    ...DEFAULTS,
    ...given,
    random: options.random ?? new SeededRandom(randomInt(0, 2 ** 32)),
    logger: options.logger ?? STDERR_LOGGER,
  };
  const bad = (msg: string) => new RaftNodeError('InvalidArgument', `RaftNode: ${msg}`);
  if (typeof resolved.id !== 'string' || resolved.id.length === 0) throw bad('id must be a non-empty string');
  if (!resolved.peers || typeof resolved.peers !== 'object') throw bad('peers must map node ids to host:port');
  for (const [id, addr] of Object.entries(resolved.peers)) checkAddress(addr, `RaftNode: peer '${id}'`);
  if (!(resolved.id in resolved.peers)) throw bad(`peers must include this node '${resolved.id}' (its listen address)`);
  for (const k of POSITIVE) {
    if (!Number.isSafeInteger(resolved[k]) || resolved[k] < 1) {
      throw bad(`${k} must be a positive integer, got ${resolved[k]}`);
    }
  }
  for (const k of ['snapshotEntries', 'compactionKeepEntries'] as const) {
    if (!Number.isSafeInteger(resolved[k]) || resolved[k] < 0) {
      throw bad(`${k} must be an integer ≥ 0, got ${resolved[k]}`);
    }
  }
  if (resolved.electionTicks <= resolved.heartbeatTicks) throw bad('electionTicks must exceed heartbeatTicks');
  return Object.freeze(resolved);
}
