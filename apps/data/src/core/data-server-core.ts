import { slotOf } from '@sofareg/consistent-hash';
import type {
  Datum,
  ErrorInfo,
  FetchSlotPublishersResponse,
  Publisher,
  ReplicaOp,
  ReplicateRequest,
  ReplicateResponse,
  SlotAck,
  SlotDigestResponse,
  SlotSnapshotRequest,
  SlotSnapshotResponse,
  SlotTable,
  WriteOp,
  WriteResult,
} from '@sofareg/contracts';
import { RegistrationDigest, digestRegistrations } from '@sofareg/model';
import { DatumStore } from './datum-store';

/**
 * A slot's state at this server. Leader: `Migrating` (takes writes, refuses reads) until it has synced the
 * slot from every live session, then `Accept`. Follower: `Snapshotting` until it has installed the leader's
 * snapshot, then `Following` (applies the leader's ops in order; ready to lead).
 */
export type SlotStatus = 'Migrating' | 'Accept' | 'Snapshotting' | 'Following';

interface FollowerProgress {
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

/** Fetch one page of a slot from a session. */
export interface SyncTask {
  session: string;
  slotId: number;
  leaderEpoch: number;
  after: string;
}

/** Fetch a slot's snapshot from its leader. */
export interface SnapshotTask {
  leader: string;
  slotId: number;
  leaderEpoch: number;
}

/** What the shell must do after a call into the core. */
export interface Effects {
  /** Datum versions that changed, to notify sessions of. */
  notify: Map<string, number>;
  sync: SyncTask[];
  snapshots: SnapshotTask[];
  /** Followers that have ops to receive. */
  replicateTo: Set<string>;
  /** Followers that answered "not yet" (still installing a snapshot): pump them again after a backoff, not at once. */
  backoff: Set<string>;
}

/** Bounds of the core. */
export interface DataCoreOptions {
  self: string;
  dataCenter: string;
  /** Ops kept per slot for followers that lag; a follower further behind installs a snapshot. */
  maxLogPerSlot: number;
  /** Ops per slot in one Replicate call. */
  maxOpsPerSlot: number;
  /**
   * How long the publishers of a session that meta no longer lists are kept, so that its clients can
   * re-register through another session first (those re-registered carry the other session's address and
   * stay); only what is left after this is removed.
   */
  sessionGraceMs: number;
}

function emptyEffects(): Effects {
  return { notify: new Map(), sync: [], snapshots: [], replicateTo: new Set(), backoff: new Set() };
}

/**
 * A replica of slot `t` taking a role: a leader starts Migrating with an empty op log, a follower starts
 * Snapshotting; either keeps the data it already held (a promoted follower, a demoted leader).
 */
function newReplica(t: SlotTable['slots'][number], role: 'leader' | 'follower', store: DatumStore | undefined): SlotReplicaState {
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

function error(code: string, message: string, leader = ''): ErrorInfo {
  return { code, message, field: '', leader };
}

/**
 * The data server's logic, pure: slots and their roles from the slot table, writes and reads, leader →
 * follower replication, slot migration from the sessions (which hold the truth), removal of sessions that
 * left, and digest repair. No clock, timer or I/O: time is passed in, and what must be sent is returned as
 * {@link Effects} for the shell (or the simulator) to carry out.
 */
export class DataServerCore {
  private table: SlotTable | undefined;
  private sessions: Set<string> | undefined;
  readonly slots = new Map<number, SlotReplicaState>();
  /**
   * Client connections closed at their session (`session\0connectId` → when): a late retried write or a sync
   * page read before the close cannot bring their publishers back. Compacted with the tombstones.
   */
  private readonly closedConnections = new Map<string, number>();
  /** Sessions no longer listed by meta, and since when: their publishers go after `sessionGraceMs`. */
  private readonly departed = new Map<string, number>();

  constructor(readonly opts: DataCoreOptions) {}

  get slotTable(): SlotTable | undefined {
    return this.table;
  }

  get liveSessions(): ReadonlySet<string> | undefined {
    return this.sessions;
  }

  /** Publishers held as leader or follower. */
  get publisherCount(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.store.publishers;
    return n;
  }

  slotIdOf(dataInfoId: string): number | undefined {
    return this.table ? slotOf(dataInfoId, this.table.slotCount) : undefined;
  }

  /** The replica of a dataInfoId's slot, when this server leads it. */
  private leading(dataInfoId: string): { slot: SlotReplicaState } | { error: ErrorInfo } {
    if (!this.table) return { error: error('NotReady', 'data server has no slot table yet') };
    const id = slotOf(dataInfoId, this.table.slotCount);
    const slot = this.slots.get(id);
    if (slot?.role === 'leader') return { slot };
    const leader = this.table.slots[id]?.leader ?? '';
    return { error: error('SlotMoved', `slot ${id} is led by ${leader || 'nobody'}`, leader) };
  }

  // ---- membership ----

  /** Takes a newer slot table: starts leading, following or dropping slots. */
  onSlotTable(table: SlotTable, nowMs: number): Effects {
    const fx = emptyEffects();
    if (this.table && table.epoch <= this.table.epoch) return fx;
    this.table = table;
    const self = this.opts.self;
    const keep = new Set<number>();
    for (const t of table.slots) {
      const cur = this.slots.get(t.id);
      if (t.leader === self) {
        keep.add(t.id);
        if (!cur || cur.role !== 'leader' || cur.leaderEpoch !== t.leaderEpoch) {
          const slot = newReplica(t, 'leader', cur?.store);
          this.slots.set(t.id, slot);
          this.startMigration(slot, fx, nowMs);
        } else {
          cur.followers = [...t.followers];
          for (const f of [...cur.progress.keys()]) if (!cur.followers.includes(f)) cur.progress.delete(f);
        }
        const slot = this.slots.get(t.id) as SlotReplicaState;
        for (const f of slot.followers) if (!slot.progress.has(f)) slot.progress.set(f, { nextSeq: -1, tellSnapshot: true, inflight: false });
      } else if (t.followers.includes(self)) {
        keep.add(t.id);
        if (!cur || cur.role !== 'follower' || cur.leader !== t.leader || cur.leaderEpoch !== t.leaderEpoch) {
          this.slots.set(t.id, newReplica(t, 'follower', cur?.store));
          fx.snapshots.push({ leader: t.leader, slotId: t.id, leaderEpoch: t.leaderEpoch });
        }
      }
    }
    for (const id of [...this.slots.keys()]) if (!keep.has(id)) this.slots.delete(id);
    return fx;
  }

  private startMigration(slot: SlotReplicaState, fx: Effects, nowMs: number): void {
    if (!this.sessions) return; // started once the session list is known
    slot.pendingSessions = new Set(this.sessions);
    for (const session of this.sessions) fx.sync.push({ session, slotId: slot.id, leaderEpoch: slot.leaderEpoch, after: '' });
    this.maybeAccept(slot, fx, nowMs);
  }

  private maybeAccept(slot: SlotReplicaState, fx: Effects, _nowMs: number): void {
    if (slot.status !== 'Migrating' || !slot.pendingSessions || slot.pendingSessions.size > 0) return;
    slot.status = 'Accept';
    // Sessions may have been refused reads meanwhile: tell them every datum of the slot is readable now.
    for (const e of slot.store.entries()) fx.notify.set(e.dataInfoId, e.version);
  }

  /**
   * Takes meta's list of live sessions. Publishers owned by a session no longer listed (its lease expired) are
   * removed `sessionGraceMs` later (see {@link DataServerCore.tick}), those re-registered elsewhere meanwhile
   * excepted; a migration no longer waits for it.
   */
  onSessions(live: Iterable<string>, nowMs: number): Effects {
    const fx = emptyEffects();
    const next = new Set(live);
    const first = this.sessions === undefined;
    this.sessions = next;
    for (const s of [...this.departed.keys()]) if (next.has(s)) this.departed.delete(s);
    for (const slot of this.slots.values()) {
      if (slot.role !== 'leader') continue;
      for (const session of slot.store.sessions()) if (!next.has(session) && !this.departed.has(session)) this.departed.set(session, nowMs);
      if (slot.status === 'Migrating') {
        if (first || !slot.pendingSessions) this.startMigration(slot, fx, nowMs);
        else {
          for (const s of [...slot.pendingSessions]) if (!next.has(s)) slot.pendingSessions.delete(s);
          this.maybeAccept(slot, fx, nowMs);
        }
      }
    }
    return fx;
  }

  /** Periodic work: removes what sessions that left still own once their grace is over. */
  tick(nowMs: number): Effects {
    const fx = emptyEffects();
    for (const slot of this.slots.values()) {
      if (slot.role !== 'leader' || !this.sessions) continue;
      for (const session of slot.store.sessions()) if (!this.sessions.has(session) && !this.departed.has(session)) this.departed.set(session, nowMs);
    }
    for (const [session, since] of [...this.departed]) {
      if (nowMs - since < this.opts.sessionGraceMs) continue;
      this.departed.delete(session);
      for (const slot of this.slots.values()) {
        if (slot.role !== 'leader') continue;
        for (const [dataInfoId, gone] of slot.store.ownedBy(session)) this.applyRemove(slot, dataInfoId, gone, nowMs, fx);
      }
    }
    return fx;
  }

  // ---- writes and reads ----

  private append(slot: SlotReplicaState, op: ReplicaOp, fx: Effects): void {
    slot.log.push(op);
    slot.seq++;
    if (slot.log.length > this.opts.maxLogPerSlot) {
      const drop = slot.log.length - this.opts.maxLogPerSlot;
      slot.log.splice(0, drop);
      slot.logStart += drop;
    }
    for (const f of slot.followers) fx.replicateTo.add(f);
  }

  private applyRemove(slot: SlotReplicaState, dataInfoId: string, registerIds: string[], nowMs: number, fx: Effects): void {
    const out = slot.store.remove(dataInfoId, registerIds, nowMs);
    if (!out.applied) return;
    this.append(slot, { op: { $case: 'remove', value: { registerIds } }, dataInfoId, version: out.version }, fx);
    fx.notify.set(dataInfoId, out.version);
  }

  /**
   * Applies a session's write batch. Each op is answered: ok (applied, or older than what is held), SlotMoved
   * (with the leader) or NotReady. `seqs` lists, per slot written, the last op seq, for replication waits.
   */
  write(ops: WriteOp[], sessionEpoch: number, nowMs: number): { results: WriteResult[]; fx: Effects; seqs: Map<number, number> } {
    const fx = emptyEffects();
    const seqs = new Map<number, number>();
    const results = ops.map((w): WriteResult => {
      const body = w.op;
      if (!body) return { ok: false, error: error('InvalidArgument', 'empty write op') };
      if (this.table && sessionEpoch > this.table.epoch) {
        return { ok: false, error: error('StaleEpoch', `session has slot table ${sessionEpoch}, this server ${this.table.epoch}; retry shortly`) };
      }
      const dataInfoId = body.value.dataInfoId;
      const lead = this.leading(dataInfoId);
      if ('error' in lead) return { ok: false, error: lead.error };
      const slot = lead.slot;
      if (body.$case === 'publish' && this.isClosed(body.value)) return { ok: true, error: undefined };
      const out =
        body.$case === 'publish'
          ? slot.store.publish(body.value, nowMs)
          : slot.store.unpublish(dataInfoId, body.value.registerId, body.value, body.value.sessionAddress, nowMs);
      if (out.applied) {
        this.append(slot, { op: body, dataInfoId, version: out.version }, fx);
        seqs.set(slot.id, slot.seq - 1);
      }
      if (out.changed) fx.notify.set(dataInfoId, out.version);
      return { ok: true, error: undefined };
    });
    return { results, fx, seqs };
  }

  /** Removes the publishers of closed client connections of one session, in every slot this server leads. */
  clientOff(sessionAddress: string, connectIds: ReadonlySet<string>, nowMs: number): Effects {
    const fx = emptyEffects();
    for (const c of connectIds) this.closedConnections.set(`${sessionAddress}\u0000${c}`, nowMs);
    for (const slot of this.slots.values()) {
      if (slot.role !== 'leader') continue;
      for (const [dataInfoId, gone] of slot.store.ownedBy(sessionAddress, connectIds)) this.applyRemove(slot, dataInfoId, gone, nowMs, fx);
    }
    return fx;
  }

  /** Reads one datum: only from a slot this server leads and has finished migrating. */
  read(dataInfoId: string): { datum: Datum } | { error: ErrorInfo } {
    const lead = this.leading(dataInfoId);
    if ('error' in lead) return lead;
    if (lead.slot.status !== 'Accept') return { error: error('NotReady', `slot ${lead.slot.id} is still syncing from the sessions`) };
    const e = lead.slot.store.get(dataInfoId);
    return { datum: { dataInfoId, version: e?.version ?? 0, publishers: e ? [...e.publishers.values()] : [], dataCenter: this.opts.dataCenter } };
  }

  // ---- migration and repair from sessions ----

  /** Whether a sync page for `task` is still wanted (the slot is still led under the same epoch). */
  wantsSync(task: SyncTask): boolean {
    const slot = this.slots.get(task.slotId);
    return (
      slot?.role === 'leader' &&
      slot.leaderEpoch === task.leaderEpoch &&
      (this.sessions?.has(task.session) ?? false) &&
      (slot.status === 'Accept' || (slot.pendingSessions?.has(task.session) ?? false))
    );
  }

  /**
   * Applies what a session holds for part of a slot. The session is the truth for its own publishers: within
   * the page's range, a publisher of that session registered before the page was read and absent from the page
   * is removed; every publisher in the page is merged by (version, registerTimestamp). `ids` limits the range to
   * those dataInfoIds (a digest repair); otherwise the range is (after, last] or (after, ∞) when done.
   */
  onSyncPage(task: SyncTask, page: FetchSlotPublishersResponse, nowMs: number, ids?: ReadonlySet<string>): Effects {
    const fx = emptyEffects();
    if (!this.wantsSync(task)) return fx;
    const slot = this.slots.get(task.slotId) as SlotReplicaState;
    const inRange = (id: string) => (ids ? ids.has(id) : id > task.after && (page.done || id <= page.lastDataInfoId));
    const seen = new Map<string, Set<string>>();
    for (const p of page.publishers) {
      if (!inRange(p.dataInfoId)) continue;
      let s = seen.get(p.dataInfoId);
      if (!s) seen.set(p.dataInfoId, (s = new Set()));
      s.add(p.registerId);
    }
    for (const e of [...slot.store.entries()]) {
      if (!inRange(e.dataInfoId)) continue;
      const present = seen.get(e.dataInfoId);
      const gone = [...e.publishers.values()]
        .filter((p) => p.sessionAddress === task.session && p.registerTimestamp < page.snapshotTime && !present?.has(p.registerId))
        .map((p) => p.registerId);
      if (gone.length > 0) this.applyRemove(slot, e.dataInfoId, gone, nowMs, fx);
    }
    for (const p of page.publishers) {
      if (!inRange(p.dataInfoId) || p.sessionAddress !== task.session) continue;
      this.applyPublish(slot, p, nowMs, fx);
    }
    // Continue above any version that session has already seen (and maybe pushed).
    for (const v of page.versions) {
      if (!inRange(v.dataInfoId)) continue;
      const out = slot.store.raiseVersion(v.dataInfoId, v.version, nowMs);
      if (out.applied) {
        this.append(slot, { op: { $case: 'remove', value: { registerIds: [] } }, dataInfoId: v.dataInfoId, version: out.version }, fx);
        fx.notify.set(v.dataInfoId, out.version);
      }
    }
    if (!ids) {
      if (page.done) {
        slot.pendingSessions?.delete(task.session);
        this.maybeAccept(slot, fx, nowMs);
      } else {
        fx.sync.push({ ...task, after: page.lastDataInfoId });
      }
    }
    return fx;
  }

  private isClosed(p: Publisher): boolean {
    return this.closedConnections.has(`${p.sessionAddress}\u0000${p.connectId}`);
  }

  private applyPublish(slot: SlotReplicaState, p: Publisher, nowMs: number, fx: Effects): void {
    if (this.isClosed(p)) return;
    const out = slot.store.publish(p, nowMs);
    if (out.applied) this.append(slot, { op: { $case: 'publish', value: p }, dataInfoId: p.dataInfoId, version: out.version }, fx);
    if (out.changed) fx.notify.set(p.dataInfoId, out.version);
  }

  /** Per dataInfoId of a led slot: the digest of one session's publishers here registered by `asOf`. */
  digest(slotId: number, session: string, asOf: number): Map<string, RegistrationDigest> {
    const out = new Map<string, RegistrationDigest>();
    const slot = this.slots.get(slotId);
    if (!slot || slot.role !== 'leader') return out;
    for (const e of slot.store.entries()) {
      const mine = [...e.publishers.values()].filter((p) => p.sessionAddress === session && p.registerTimestamp <= asOf);
      if (mine.length > 0) out.set(e.dataInfoId, digestRegistrations(mine));
    }
    return out;
  }

  /**
   * The dataInfoIds of a led slot where a session's digest (`theirs`) and this server's copy of that session's
   * publishers differ, in either direction: what to re-read from the session.
   */
  digestDiff(slotId: number, session: string, theirs: SlotDigestResponse): Set<string> {
    const mine = this.digest(slotId, session, theirs.snapshotTime);
    const differ = new Set<string>();
    for (const d of theirs.digests) {
      const m = mine.get(d.dataInfoId);
      if (!m || m.count !== d.count || m.hash !== d.hash) differ.add(d.dataInfoId);
      mine.delete(d.dataInfoId);
    }
    for (const id of mine.keys()) differ.add(id);
    return differ;
  }

  // ---- replication ----

  /** The next batch of ops for one follower, over every slot it follows here; undefined when nothing to send. */
  replicationBatch(follower: string): ReplicateRequest | undefined {
    const req: ReplicateRequest = { leader: this.opts.self, slotTableEpoch: this.table?.epoch ?? 0, slots: [], callId: 0 };
    for (const slot of this.slots.values()) {
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
  onReplicateResponse(follower: string, req: ReplicateRequest, res: ReplicateResponse | undefined): Effects {
    const fx = emptyEffects();
    const acks = new Map((res?.slots ?? []).map((a) => [a.slotId, a]));
    for (const sent of req.slots) {
      const slot = this.slots.get(sent.slotId);
      const prog = slot?.role === 'leader' && slot.leaderEpoch === sent.leaderEpoch ? slot.progress.get(follower) : undefined;
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

  private trimLog(slot: SlotReplicaState): void {
    let min = slot.seq;
    for (const p of slot.progress.values()) if (p.nextSeq >= 0) min = Math.min(min, p.nextSeq);
    const drop = min - slot.logStart;
    if (drop > 0) {
      slot.log.splice(0, drop);
      slot.logStart = min;
    }
  }

  /** Lowest seq, over followers that are following, not yet acknowledged in a slot (for write waits). */
  replicatedThrough(slotId: number): number {
    const slot = this.slots.get(slotId);
    if (!slot || slot.role !== 'leader') return Infinity;
    let min = Infinity;
    for (const p of slot.progress.values()) if (p.nextSeq >= 0) min = Math.min(min, p.nextSeq - 1);
    return min;
  }

  /** Follower side of Replicate. */
  onReplicate(req: ReplicateRequest): { res: ReplicateResponse; fx: Effects } {
    const fx = emptyEffects();
    const acks: SlotAck[] = req.slots.map((so): SlotAck => {
      const slot = this.slots.get(so.slotId);
      if (!slot || slot.role !== 'follower' || slot.leader !== req.leader || slot.leaderEpoch !== so.leaderEpoch) {
        return { slotId: so.slotId, ok: false, nextSeq: -1, error: error('StaleEpoch', `not following slot ${so.slotId} of ${req.leader} at leader epoch ${so.leaderEpoch}`) };
      }
      if (so.seq < 0) {
        if (slot.status === 'Snapshotting') {
          // A fetch is on its way, but the leader may have served it before it tracked this follower: say
          // so, and the leader asks again once that fetch is in (a snapshot it served since counts instead).
          return { slotId: so.slotId, ok: false, nextSeq: -1, error: error('NotReady', `slot ${so.slotId} is installing a snapshot`) };
        }
        slot.status = 'Snapshotting';
        fx.snapshots.push({ leader: slot.leader, slotId: slot.id, leaderEpoch: slot.leaderEpoch });
        return { slotId: so.slotId, ok: false, nextSeq: -1, error: undefined };
      }
      // Not yet: the snapshot this leader served is still on its way; the leader keeps its progress and retries.
      if (slot.status === 'Snapshotting') return { slotId: so.slotId, ok: false, nextSeq: so.seq, error: undefined };
      if (so.seq !== slot.nextSeq) return { slotId: so.slotId, ok: false, nextSeq: slot.nextSeq, error: undefined };
      for (const op of so.ops) {
        const body = op.op;
        if (!body) continue;
        if (body.$case === 'publish') slot.store.applyReplica(op.dataInfoId, { kind: 'publish', publisher: body.value }, op.version);
        else if (body.$case === 'unpublish')
          slot.store.applyReplica(op.dataInfoId, { kind: 'unpublish', registerId: body.value.registerId, stamp: body.value, sessionAddress: body.value.sessionAddress, at: body.value.registerTimestamp }, op.version);
        else slot.store.applyReplica(op.dataInfoId, { kind: 'remove', registerIds: body.value.registerIds }, op.version);
      }
      slot.nextSeq += so.ops.length;
      return { slotId: so.slotId, ok: true, nextSeq: slot.nextSeq, error: undefined };
    });
    return { res: { slots: acks, callId: req.callId }, fx };
  }

  /** Leader side of SlotSnapshot: the whole slot; the follower continues from the returned seq. */
  snapshot(req: SlotSnapshotRequest): SlotSnapshotResponse {
    const slot = this.slots.get(req.slotId);
    if (!slot || slot.role !== 'leader' || slot.leaderEpoch !== req.leaderEpoch) {
      return { slotId: req.slotId, leaderEpoch: req.leaderEpoch, nextSeq: -1, data: [], error: error('StaleEpoch', `not the leader of slot ${req.slotId} at leader epoch ${req.leaderEpoch}`) };
    }
    const prog = slot.progress.get(req.follower);
    if (prog) {
      prog.nextSeq = slot.seq;
      prog.tellSnapshot = false;
      prog.inflight = false;
    }
    const data: Datum[] = [...slot.store.entries()].map((e) => ({ dataInfoId: e.dataInfoId, version: e.version, publishers: [...e.publishers.values()], dataCenter: this.opts.dataCenter }));
    return { slotId: slot.id, leaderEpoch: slot.leaderEpoch, nextSeq: slot.seq, data, error: undefined };
  }

  /** Follower: installs a snapshot fetched for `task`. Returns whether it was installed. */
  onSnapshot(task: SnapshotTask, res: SlotSnapshotResponse): boolean {
    const slot = this.slots.get(task.slotId);
    if (!slot || slot.role !== 'follower' || slot.leader !== task.leader || slot.leaderEpoch !== task.leaderEpoch || res.error || res.nextSeq < 0) return false;
    slot.store.load(res.data);
    slot.nextSeq = res.nextSeq;
    slot.status = 'Following';
    return true;
  }

  /** Whether a snapshot fetch for `task` is still wanted. */
  wantsSnapshot(task: SnapshotTask): boolean {
    const slot = this.slots.get(task.slotId);
    return slot?.role === 'follower' && slot.leader === task.leader && slot.leaderEpoch === task.leaderEpoch && slot.status === 'Snapshotting';
  }

  /** Drops tombstones older than `beforeMs` in every slot. */
  compact(beforeMs: number): number {
    let n = 0;
    for (const [k, at] of this.closedConnections) if (at < beforeMs) this.closedConnections.delete(k);
    for (const s of this.slots.values()) n += s.store.compactTombstones(beforeMs);
    return n;
  }
}
