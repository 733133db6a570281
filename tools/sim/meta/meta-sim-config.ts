import type { SeededRandom } from '../kernel';

/** Lease of a server at the meta leader. */
export const LEASE_MS = 3_000;
/** A server whose watch stream closed is removed this soon unless it watches again. */
export const SUSPECT_MS = 1_500;
/** Raft tick of the simulated meta nodes. */
export const TICK_MS = 50;
/** How often the simulated leader runs its duties (as LeadershipService does). */
export const DUTY_TICK_MS = 100;
/** MetaClient's heartbeat interval and deadline, as in the shell. */
export const HEARTBEAT_MS = 1_000;
export const RPC_TIMEOUT_MS = 2_000;
export const TAKEOVER_GRACE_MS = 2_000;
/** A read barrier of a new leader unanswered this long is asked again. */
export const BARRIER_RETRY_MS = 500;
/**
 * After a partition heals, how long a live server may still be evicted for it: streams cut by it close within
 * 1.5 s, a heartbeat sent into it fails after RPC_TIMEOUT_MS (and MetaClient then rotates, possibly through
 * every address it knows), two more heartbeats find the leader; the suspect grace runs meanwhile.
 */
export const SETTLE_MS = 1_500 + 2 * RPC_TIMEOUT_MS + 2 * HEARTBEAT_MS + SUSPECT_MS;

/**
 * The shape of one run, drawn from its seed (swarm testing: each seed has its own fault mix, so rare
 * combinations get whole runs rather than a sliver of every run).
 */
export interface MetaSimShape {
  metaCount: number;
  /** Probability that a message or call leg is lost / delivered twice. */
  dropRate: number;
  duplicateRate: number;
  maxDelayMs: number;
  faultEveryMs: number;
  serverFaultEveryMs: number;
  /** Relative weights of the meta faults: crash, partition, heal. */
  crashWeight: number;
  partitionWeight: number;
  healWeight: number;
  /** Prefer crashing the leader with this probability. */
  leaderCrashBias: number;
  /**
   * Which meta addresses a server is given: `all` (in order), `shuffled`, `one` (a single address, which may be
   * a follower: only NotLeader answers lead it to the leader) or `mixed` (per server, one of those).
   */
  addressing: 'all' | 'shuffled' | 'one' | 'mixed';
  slotCount: number;
  replicas: number;
  warmupMs: number;
  snapEvery: number;
}

/** Draws the shape of a run from the seed's random source. */
export function drawShape(r: SeededRandom): MetaSimShape {
  return {
    metaCount: r.pick([1, 3, 3, 3, 5]),
    dropRate: r.pick([0, 0, 0.01, 0.05]),
    duplicateRate: r.pick([0, 0, 0.02, 0.1]),
    maxDelayMs: r.pick([2, 5, 15]),
    faultEveryMs: r.pick([300, 800, 2_000]),
    serverFaultEveryMs: r.pick([400, 1_000, 2_500]),
    crashWeight: r.pick([0, 1, 3, 6]),
    partitionWeight: r.pick([0, 1, 4, 6]),
    healWeight: r.pick([1, 3]),
    leaderCrashBias: r.pick([0, 0.6, 0.9]),
    addressing: r.pick(['all', 'shuffled', 'one', 'mixed'] as const),
    slotCount: r.pick([8, 16, 64]),
    replicas: r.pick([1, 2, 2, 3]),
    warmupMs: r.pick([0, 500, 1_000]),
    snapEvery: r.pick([5, 20, 1_000]),
  };
}

/** The shape as one line for reports. */
export function describeShape(s: MetaSimShape): string {
  return (
    `metas=${s.metaCount} drop=${s.dropRate} dup=${s.duplicateRate} delay≤${s.maxDelayMs}ms ` +
    `faultEvery=${s.faultEveryMs}ms mix=${s.crashWeight}/${s.partitionWeight}/${s.healWeight} ` +
    `leaderBias=${s.leaderCrashBias} serverFaultEvery=${s.serverFaultEveryMs}ms addressing=${s.addressing} ` +
    `slots=${s.slotCount} replicas=${s.replicas} warmup=${s.warmupMs}ms snapEvery=${s.snapEvery}`
  );
}
