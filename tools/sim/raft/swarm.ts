import type { SeededRandom } from '../kernel';

/**
 * The configuration of one seeded run, drawn from its seed (swarm testing): each run switches every fault kind
 * on or off and draws its rate, so some runs hammer one mechanism alone while others mix everything. A fault
 * that is always on at a low rate hides the bugs that need another one to stay quiet for a while.
 */
export interface SwarmConfig {
  voters: number;
  clients: number;
  keys: number;
  /** Probability that a message is lost, and that it is delivered twice. */
  dropRate: number;
  dupRate: number;
  /** Largest one-way message delay (ms); the smallest is 1. */
  maxDelayMs: number;
  /** Mean time between node crashes (ms); 0: no crashes. */
  crashEveryMs: number;
  /** Mean time between network partitions (ms); 0: no partitions. */
  partitionEveryMs: number;
  /** Probability that a node loses power while a batch is being fsynced (the batch is lost). */
  crashInFsync: number;
  /**
   * Probability that a leader is cut off right after taking a batch that replicates entries (its own write
   * completes, its messages do not leave), so leaders change while entries are partly replicated.
   */
  leaderHitRate: number;
  /** On a leader hit in a cluster of five or more, keep the leader connected to one follower (a minority). */
  leaderHitKeepsOne: boolean;
  /** Snapshot every this many applied entries (0: never), keeping this many entries below it. */
  snapEvery: number;
  snapKeep: number;
  /** Membership changes (learners added, promoted, removed; voters removed) and leadership transfers. */
  membership: boolean;
  transfers: boolean;
  maxInflight: number;
  /** Byte bound of one append message; 1 sends one entry per message (replication advances entry by entry). */
  maxMsgSize: number;
  checkQuorum: boolean;
  preVote: boolean;
  leaseReads: boolean;
  clientTimeoutMs: number;
}

/** Draws one run's configuration. Every draw comes from `rnd`, so a seed names its configuration. */
export function drawSwarm(rnd: SeededRandom): SwarmConfig {
  const on = (p: number) => rnd.chance(p);
  const checkQuorum = on(0.7);
  const voters = rnd.pick([1, 3, 3, 3, 5, 5]);
  return {
    voters,
    clients: rnd.pick([3, 4, 6]),
    keys: rnd.pick([1, 2, 3]),
    dropRate: on(0.5) ? rnd.pick([0.01, 0.05, 0.15]) : 0,
    dupRate: on(0.4) ? rnd.pick([0.02, 0.1]) : 0,
    maxDelayMs: rnd.pick([2, 8, 20]),
    crashEveryMs: on(0.6) ? rnd.pick([100, 250, 600]) : 0,
    partitionEveryMs: on(0.6) ? rnd.pick([100, 250, 600]) : 0,
    crashInFsync: on(0.4) ? rnd.pick([0.003, 0.01, 0.03]) : 0,
    leaderHitRate: on(0.8) ? rnd.pick([0.05, 0.15, 0.3]) : 0,
    leaderHitKeepsOne: voters >= 5 && on(0.5),
    snapEvery: on(0.7) ? rnd.pick([4, 10, 30]) : 0,
    snapKeep: rnd.pick([0, 2, 5]),
    membership: on(0.5),
    transfers: on(0.5),
    maxInflight: rnd.pick([1, 2, 4, 64]),
    maxMsgSize: rnd.pick([1, 1, 64, 256, 1 << 20]),
    checkQuorum,
    preVote: on(0.7),
    leaseReads: checkQuorum && on(0.3),
    clientTimeoutMs: rnd.pick([150, 400]),
  };
}

/** A one-line description of `c` for failure reports. */
export function describeSwarm(c: SwarmConfig): string {
  return (
    `voters=${c.voters} clients=${c.clients} keys=${c.keys} drop=${c.dropRate} dup=${c.dupRate} ` +
    `delay≤${c.maxDelayMs}ms crashEvery=${c.crashEveryMs || 'off'} partitionEvery=${c.partitionEveryMs || 'off'} ` +
    `crashInFsync=${c.crashInFsync} leaderHit=${c.leaderHitRate}${c.leaderHitKeepsOne ? '+1' : ''} ` +
    `snapEvery=${c.snapEvery || 'off'} keep=${c.snapKeep} membership=${c.membership} transfers=${c.transfers} ` +
    `inflight=${c.maxInflight} msgSize=${c.maxMsgSize} checkQuorum=${c.checkQuorum} preVote=${c.preVote} ` +
    `leaseReads=${c.leaseReads} clientTimeout=${c.clientTimeoutMs}ms`
  );
}
