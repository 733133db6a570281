import type {
  Datum,
  ReplicaOp,
  ReplicateRequest,
  ReplicateResponse,
  SlotAck,
  SlotSnapshotRequest,
  SlotSnapshotResponse,
} from '@sofareg/contracts';
import { Effects, SnapshotTask, coreError, emptyEffects } from './effects';
import type { SlotReplicaState } from './slot-replica';

/** Bounds of leader → follower replication. */
export interface ReplicationOptions {
  self: string;
  dataCenter: string;
  /** Ops kept per slot for followers that lag; a follower further behind installs a snapshot. */
  maxLogPerSlot: number;
  /** Ops per slot in one Replicate call. */
  maxOpsPerSlot: number;
}

/**
 * Leader → follower replication of slot ops, pure. Leader side: each applied op is appended to the slot's
 * bounded log; per follower, one batch in flight, resent from the same seq when its call fails, a snapshot
 * when the follower is too far behind or not following yet. Follower side: ops are applied strictly in seq
 * order; anything else is answered with the seq it expects.
 */
export class ReplicationLog {
  constructor(private readonly opts: ReplicationOptions) {}

  /** Sets a led slot's followers: progress of those gone is dropped; a new one starts by installing a snapshot. */
  setFollowers(slot: SlotReplicaState, followers: readonly string[]): void {
    slot.followers = [...followers];
    for (const f of [...slot.progress.keys()]) if (!slot.followers.includes(f)) slot.progress.delete(f);
    for (const f of slot.followers) {
      if (!slot.progress.has(f)) slot.progress.set(f, { nextSeq: -1, tellSnapshot: true, inflight: false });
    }
  }

  /** Appends an applied op to a led slot's log (dropping the oldest past the bound); every follower is due. */
  append(slot: SlotReplicaState, op: ReplicaOp, fx: Effects): void {
    slot.log.push(op);
    slot.seq++;
    if (slot.log.length > this.opts.maxLogPerSlot) {
      const drop = slot.log.length - this.opts.maxLogPerSlot;
      slot.log.splice(0, drop);
      slot.logStart += drop;
    }
    for (const f of slot.followers) fx.replicateTo.add(f);
  }

  /** The next batch of ops for one follower, over every slot it follows here; undefined when nothing to send. */
  batchFor(slots: Iterable<SlotReplicaState>, follower: string, tableEpoch: number): ReplicateRequest | undefined {
    const req: ReplicateRequest = { leader: this.opts.self, slotTableEpoch: tableEpoch, slots: [], callId: 0 };
    for (const slot of slots) {
      if (slot.role !== 'leader') continue;
      const prog = slot.progress.get(follower);
      if (!prog || prog.inflight) continue;
      if (prog.nextSeq >= 0 && prog.nextSeq < slot.logStart) {
        // Too far behind: tell it to install a snapshot.
        prog.nextSeq = -1;
        prog.tellSnapshot = true;
      }
      if (prog.nextSeq < 0) {
        // Waiting for the follower to fetch a snapshot; told to once.
        if (prog.tellSnapshot) {
          prog.tellSnapshot = false;
          req.slots.push({ slotId: slot.id, leaderEpoch: slot.leaderEpoch, seq: -1, ops: [] });
        }
        continue;
      }
      if (prog.nextSeq >= slot.seq) continue;
      const from = prog.nextSeq - slot.logStart;
      const ops = slot.log.slice(from, from + this.opts.maxOpsPerSlot);
      prog.inflight = true;
      req.slots.push({ slotId: slot.id, leaderEpoch: slot.leaderEpoch, seq: prog.nextSeq, ops });
    }
    return req.slots.length > 0 ? req : undefined;
  }

  /** The follower's answer (or undefined when the call failed). Returns followers with more to receive. */
  onResponse(
    slots: ReadonlyMap<number, SlotReplicaState>,
    follower: string,
    req: ReplicateRequest,
    res: ReplicateResponse | undefined,
  ): Effects {
    const fx = emptyEffects();
    const acks = new Map((res?.slots ?? []).map((a) => [a.slotId, a]));
    for (const sent of req.slots) {
      const slot = slots.get(sent.slotId);
      const led = slot?.role === 'leader' && slot.leaderEpoch === sent.leaderEpoch;
      const prog = led ? slot.progress.get(follower) : undefined;
      if (!slot || !prog) continue;
      const ack = acks.get(sent.slotId);
      if (sent.seq < 0) {
        // Told to snapshot: its fetch sets the progress (maybe already has). A failed call tells it again, and
        // so does a follower busy with an earlier fetch (after a backoff), unless a snapshot served since set it.
        const busy = ack?.error?.code === 'NotReady';
        if ((!ack || busy) && prog.nextSeq < 0) {
          prog.tellSnapshot = true;
          if (busy) fx.backoff.add(follower);
        }
        continue;
      }
      // A snapshot served while this batch was out set the progress (and cleared in-flight): the answer is stale,
      // even when the seq it was sent at equals the snapshot's.
      if (!prog.inflight) continue;
      prog.inflight = false;
      if (!ack) continue; // call failed: resend from the same seq
      if (prog.nextSeq !== sent.seq) continue;
      if (ack.nextSeq < 0) {
        // Not following this leader at this epoch: it fetches a snapshot once it does. It may already, by the
        // time this answer is read: tell it to snapshot, which it ignores (stale epoch) until it follows.
        prog.nextSeq = -1;
        prog.tellSnapshot = true;
      } else if (!ack.ok && ack.nextSeq === sent.seq) {
        // Not yet: still installing the snapshot served to it. Keep the progress; resend after a backoff.
        fx.backoff.add(follower);
      } else {
        prog.nextSeq = ack.nextSeq;
      }
      if (!fx.backoff.has(follower) && prog.nextSeq >= 0 && prog.nextSeq < slot.seq) fx.replicateTo.add(follower);
      this.trimLog(slot);
    }
    return fx;
  }

  /** Drops the log prefix every following follower has. */
  private trimLog(slot: SlotReplicaState): void {
    let min = slot.seq;
    for (const p of slot.progress.values()) if (p.nextSeq >= 0) min = Math.min(min, p.nextSeq);
    const drop = min - slot.logStart;
    if (drop > 0) {
      slot.log.splice(0, drop);
      slot.logStart = min;
    }
  }

  /** Lowest seq, over followers that are following, not yet acknowledged in a led slot (for write waits). */
  replicatedThrough(slot: SlotReplicaState | undefined): number {
    if (!slot || slot.role !== 'leader') return Infinity;
    let min = Infinity;
    for (const p of slot.progress.values()) if (p.nextSeq >= 0) min = Math.min(min, p.nextSeq - 1);
    return min;
  }

  /** Leader side of SlotSnapshot: the whole slot; the follower continues from the returned seq. */
  serveSnapshot(slot: SlotReplicaState | undefined, req: SlotSnapshotRequest): SlotSnapshotResponse {
    if (!slot || slot.role !== 'leader' || slot.leaderEpoch !== req.leaderEpoch) {
      const message = `not the leader of slot ${req.slotId} at leader epoch ${req.leaderEpoch}`;
      return {
        slotId: req.slotId,
        leaderEpoch: req.leaderEpoch,
        nextSeq: -1,
        data: [],
        error: coreError('StaleEpoch', message),
      };
    }
    // Only a follower waiting for a snapshot continues from this one. A follower already following is ahead of
    // or at its progress, and its next answer says where it is; moving the progress to the snapshot's seq
    // would skip the ops between when this request is a stale copy (a retry, a duplicate) of one it installed.
    const prog = slot.progress.get(req.follower);
    if (prog && prog.nextSeq < 0) {
      prog.nextSeq = slot.seq;
      prog.tellSnapshot = false;
      prog.inflight = false;
    }
    const data: Datum[] = [...slot.store.entries()].map((e) => ({
      dataInfoId: e.dataInfoId,
      version: e.version,
      publishers: [...e.publishers.values()],
      dataCenter: this.opts.dataCenter,
    }));
    return { slotId: slot.id, leaderEpoch: slot.leaderEpoch, nextSeq: slot.seq, data, error: undefined };
  }

  /** Follower side of Replicate: one ack per slot of the request. */
  onReplicate(
    slots: ReadonlyMap<number, SlotReplicaState>,
    req: ReplicateRequest,
  ): { res: ReplicateResponse; fx: Effects } {
    const fx = emptyEffects();
    const acks: SlotAck[] = req.slots.map((so): SlotAck => {
      const slot = slots.get(so.slotId);
      if (!slot || slot.role !== 'follower' || slot.leader !== req.leader || slot.leaderEpoch !== so.leaderEpoch) {
        const message = `not following slot ${so.slotId} of ${req.leader} at leader epoch ${so.leaderEpoch}`;
        return { slotId: so.slotId, ok: false, nextSeq: -1, error: coreError('StaleEpoch', message) };
      }
      if (so.seq < 0) {
        if (slot.status === 'Snapshotting') {
          // A fetch is on its way, but the leader may have served it before it tracked this follower: say
          // so, and the leader asks again once that fetch is in (a snapshot it served since counts instead).
          const message = `slot ${so.slotId} is installing a snapshot`;
          return { slotId: so.slotId, ok: false, nextSeq: -1, error: coreError('NotReady', message) };
        }
        slot.status = 'Snapshotting';
        fx.snapshots.push({ leader: slot.leader, slotId: slot.id, leaderEpoch: slot.leaderEpoch });
        return { slotId: so.slotId, ok: false, nextSeq: -1, error: undefined };
      }
      // Not yet: the snapshot this leader served is still on its way; the leader keeps its progress and retries.
      if (slot.status === 'Snapshotting') return { slotId: so.slotId, ok: false, nextSeq: so.seq, error: undefined };
      if (so.seq !== slot.nextSeq) return { slotId: so.slotId, ok: false, nextSeq: slot.nextSeq, error: undefined };
      this.applyOps(slot, so.ops);
      return { slotId: so.slotId, ok: true, nextSeq: slot.nextSeq, error: undefined };
    });
    return { res: { slots: acks, callId: req.callId }, fx };
  }

  /** Follower: applies a run of ops that starts at the slot's expected seq, in order, every one of them. */
  applyOps(slot: SlotReplicaState, ops: readonly ReplicaOp[]): void {
    for (const op of ops) {
      const body = op.op;
      if (!body) continue;
      if (body.$case === 'publish') {
        slot.store.applyReplica(op.dataInfoId, { kind: 'publish', publisher: body.value }, op.version);
      } else if (body.$case === 'unpublish') {
        const u = body.value;
        const change = {
          kind: 'unpublish' as const,
          registerId: u.registerId,
          stamp: u,
          sessionAddress: u.sessionAddress,
          at: u.registerTimestamp,
        };
        slot.store.applyReplica(op.dataInfoId, change, op.version);
      } else {
        slot.store.applyReplica(op.dataInfoId, { kind: 'remove', registerIds: body.value.registerIds }, op.version);
      }
    }
    slot.nextSeq += ops.length;
  }

  /** Follower: installs a snapshot fetched for `task`. Returns whether it was installed. */
  installSnapshot(slot: SlotReplicaState | undefined, task: SnapshotTask, res: SlotSnapshotResponse): boolean {
    if (!slot || !sameLeader(slot, task) || res.error || res.nextSeq < 0) return false;
    slot.store.load(res.data);
    slot.nextSeq = res.nextSeq;
    slot.status = 'Following';
    return true;
  }

  /** Whether a snapshot fetch for `task` is still wanted (the replica follows that leader and waits for one). */
  wantsSnapshot(slot: SlotReplicaState | undefined, task: SnapshotTask): boolean {
    return slot !== undefined && sameLeader(slot, task) && slot.status === 'Snapshotting';
  }
}

function sameLeader(slot: SlotReplicaState, task: SnapshotTask): boolean {
  return slot.role === 'follower' && slot.leader === task.leader && slot.leaderEpoch === task.leaderEpoch;
}
