import type { ReplicaOp, SlotTable } from '@sofareg/contracts';
import { DatumStore } from './datum-store';

/**
 * A slot's state at this server. Leader: `Migrating` (takes writes, refuses reads) until it has synced the
 * slot from every live session, then `Accept`. Follower: `Snapshotting` until it has installed the leader's
 * snapshot, then `Following` (applies the leader's ops in order; ready to lead).
 */
export type SlotStatus = 'Migrating' | 'Accept' | 'Snapshotting' | 'Following';

/** A leader's view of one follower of one slot. */
export interface FollowerProgress {
  /** Next seq to send; -1 while the follower must (re)install a snapshot (its fetch sets this). */
  nextSeq: number;
  /**
   * While nextSeq is -1: the follower has yet to be told to install a snapshot ({seq: -1} is sent once, and
   * again if that call fails). A new leader starts so: a follower still following the same leader and epoch
   * (the leader restarted within its lease) would never fetch one by itself.
   */
  tellSnapshot: boolean;
  inflight: boolean;
}

/** One slot replica held by this server. */
export interface SlotReplicaState {
  readonly id: number;
  role: 'leader' | 'follower';
  leader: string;
  leaderEpoch: number;
  followers: string[];
  status: SlotStatus;
  store: DatumStore;
  /** Leader: ops applied, from seq `logStart`, kept until every follower has them (bounded). */
  log: ReplicaOp[];
  logStart: number;
  /** Leader: seq of the next op. */
  seq: number;
  progress: Map<string, FollowerProgress>;
  /** Leader while Migrating: live sessions not yet synced (undefined until the session list is known). */
  pendingSessions: Set<string> | undefined;
  /** Follower: seq of the next op it expects. */
  nextSeq: number;
}

/**
 * A replica of slot `t` taking a role: a leader starts Migrating with an empty op log, a follower starts
 * Snapshotting; either keeps the data it already held (a promoted follower, a demoted leader).
 */
export function newReplica(
  t: SlotTable['slots'][number],
  role: 'leader' | 'follower',
  store: DatumStore | undefined,
): SlotReplicaState {
  return {
    id: t.id,
    role,
    leader: t.leader,
    leaderEpoch: t.leaderEpoch,
    followers: [...t.followers],
    status: role === 'leader' ? 'Migrating' : 'Snapshotting',
    store: store ?? new DatumStore(),
    log: [],
    logStart: 0,
    seq: 0,
    progress: new Map(),
    pendingSessions: undefined,
    nextSeq: role === 'leader' ? 0 : -1,
  };
}
