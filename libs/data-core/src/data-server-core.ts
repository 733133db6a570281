import { slotOf } from '@sofareg/consistent-hash';
import type {
  Datum,
  ErrorInfo,
  FetchSlotPublishersResponse,
  Publisher,
  ReplicateRequest,
  ReplicateResponse,
  SlotDigestResponse,
  SlotSnapshotRequest,
  SlotSnapshotResponse,
  SlotTable,
  WriteOp,
  WriteResult,
} from '@sofareg/contracts';
import { RegistrationDigest, digestRegistrations } from '@sofareg/model';
import { Effects, SnapshotTask, SyncTask, coreError, emptyEffects } from './effects';
import { ReplicationLog } from './replication-log';
import { SessionLeases } from './session-leases';
import type { SlotReplicaState } from './slot-replica';
import { SlotRoles } from './slot-roles';

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

/**
 * The data server's logic, pure: one entry over the cores split by concern — {@link SlotRoles} (roles from
 * the slot table, migration from the sessions), {@link ReplicationLog} (leader log, follower progress,
 * snapshots) and {@link SessionLeases} (live sessions, grace, closed connections) — plus writes, sync pages
 * and digest repair, which touch all three. No clock, timer or I/O: time is passed in, and what must be sent
 * is returned as {@link Effects} for the driver to carry out.
 */
export class DataServerCore {
  readonly roles: SlotRoles;
  readonly replication: ReplicationLog;
  readonly leases: SessionLeases;

  constructor(readonly opts: DataCoreOptions) {
    this.roles = new SlotRoles(opts.self);
    this.replication = new ReplicationLog(opts);
    this.leases = new SessionLeases(opts.sessionGraceMs);
  }

  /** The replicas held, by slot id. */
  get slots(): ReadonlyMap<number, SlotReplicaState> {
    return this.roles.slots;
  }

  get slotTable(): SlotTable | undefined {
    return this.roles.table;
  }

  get liveSessions(): ReadonlySet<string> | undefined {
    return this.leases.sessions;
  }

  /** Publishers held as leader or follower. */
  get publisherCount(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.store.publishers;
    return n;
  }

  slotIdOf(dataInfoId: string): number | undefined {
    const table = this.roles.table;
    return table ? slotOf(dataInfoId, table.slotCount) : undefined;
  }

  private *led(): Iterable<SlotReplicaState> {
    for (const slot of this.slots.values()) if (slot.role === 'leader') yield slot;
  }

  // ---- membership ----

  /** Takes a newer slot table: starts leading, following or dropping slots. */
  onSlotTable(table: SlotTable, _nowMs: number): Effects {
    const fx = emptyEffects();
    const started = this.roles.applyTable(table, fx);
    if (!started) return fx;
    for (const t of table.slots) {
      const slot = this.slots.get(t.id);
      if (slot?.role !== 'leader') continue;
      this.replication.setFollowers(slot, t.followers);
      // Pump every follower now, not at the next write: a new one must be told to snapshot (it may have
      // fetched one before this leader tracked it), and a quiet slot may see no write for a long time.
      for (const f of slot.followers) fx.replicateTo.add(f);
    }
    for (const slot of started) this.roles.startMigration(slot, this.leases.sessions, fx);
    return fx;
  }

  /**
   * Takes meta's list of live sessions. Publishers owned by a session no longer listed (its lease expired) are
   * removed `sessionGraceMs` later (see {@link DataServerCore.tick}), those re-registered elsewhere meanwhile
   * excepted; a migration no longer waits for it.
   */
  onSessions(live: Iterable<string>, nowMs: number): Effects {
    const fx = emptyEffects();
    const first = this.leases.setLive(live);
    for (const slot of this.led()) this.leases.noteOwners(slot.store.sessions(), nowMs);
    this.roles.onSessions(this.leases.sessions as ReadonlySet<string>, first, fx);
    return fx;
  }

  /** Periodic work: removes what sessions that left still own once their grace is over. */
  tick(nowMs: number): Effects {
    const fx = emptyEffects();
    for (const slot of this.led()) this.leases.noteOwners(slot.store.sessions(), nowMs);
    for (const session of this.leases.expire(nowMs)) {
      for (const slot of this.led()) {
        for (const [dataInfoId, gone] of slot.store.ownedBy(session))
          this.applyRemove(slot, dataInfoId, gone, nowMs, fx);
      }
    }
    return fx;
  }

  // ---- writes and reads ----

  private applyRemove(
    slot: SlotReplicaState,
    dataInfoId: string,
    registerIds: string[],
    nowMs: number,
    fx: Effects,
  ): void {
    const out = slot.store.remove(dataInfoId, registerIds, nowMs);
    if (!out.applied) return;
    this.replication.append(
      slot,
      { op: { $case: 'remove', value: { registerIds } }, dataInfoId, version: out.version },
      fx,
    );
    fx.notify.set(dataInfoId, out.version);
  }

  private applyPublish(slot: SlotReplicaState, p: Publisher, nowMs: number, fx: Effects): void {
    if (this.leases.isClosed(p)) return;
    const out = slot.store.publish(p, nowMs);
    if (out.applied) {
      this.replication.append(
        slot,
        { op: { $case: 'publish', value: p }, dataInfoId: p.dataInfoId, version: out.version },
        fx,
      );
    }
    if (out.changed) fx.notify.set(p.dataInfoId, out.version);
  }

  /**
   * Applies a session's write batch. Each op is answered: ok (applied, or older than what is held), SlotMoved
   * (with the leader), StaleEpoch or NotReady. `seqs` lists, per slot written, the last op seq, for
   * replication waits.
   */
  write(
    ops: WriteOp[],
    sessionEpoch: number,
    nowMs: number,
  ): { results: WriteResult[]; fx: Effects; seqs: Map<number, number> } {
    const fx = emptyEffects();
    const seqs = new Map<number, number>();
    const table = this.roles.table;
    const results = ops.map((w): WriteResult => {
      const body = w.op;
      if (!body) return { ok: false, error: coreError('InvalidArgument', 'empty write op') };
      if (table && sessionEpoch > table.epoch) {
        const message = `session has slot table ${sessionEpoch}, this server ${table.epoch}; retry shortly`;
        return { ok: false, error: coreError('StaleEpoch', message) };
      }
      const dataInfoId = body.value.dataInfoId;
      const lead = this.roles.leading(dataInfoId);
      if ('error' in lead) return { ok: false, error: lead.error };
      const slot = lead.slot;
      if (body.$case === 'publish' && this.leases.isClosed(body.value)) return { ok: true, error: undefined };
      const out =
        body.$case === 'publish'
          ? slot.store.publish(body.value, nowMs)
          : slot.store.unpublish(dataInfoId, body.value.registerId, body.value, body.value.sessionAddress, nowMs);
      if (out.applied) {
        this.replication.append(slot, { op: body, dataInfoId, version: out.version }, fx);
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
    this.leases.closeConnections(sessionAddress, connectIds, nowMs);
    for (const slot of this.led()) {
      for (const [dataInfoId, gone] of slot.store.ownedBy(sessionAddress, connectIds))
        this.applyRemove(slot, dataInfoId, gone, nowMs, fx);
    }
    return fx;
  }

  /** Reads one datum: only from a slot this server leads and has finished migrating. */
  read(dataInfoId: string): { datum: Datum } | { error: ErrorInfo } {
    return this.roles.read(dataInfoId, this.opts.dataCenter);
  }

  // ---- migration and repair from sessions ----

  /** Whether a sync page for `task` is still wanted (the slot is still led under the same epoch). */
  wantsSync(task: SyncTask): boolean {
    return this.roles.wantsSync(task, this.leases.sessions);
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
        .filter(
          (p) =>
            p.sessionAddress === task.session && p.registerTimestamp < page.snapshotTime && !present?.has(p.registerId),
        )
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
        const op = {
          op: { $case: 'remove' as const, value: { registerIds: [] } },
          dataInfoId: v.dataInfoId,
          version: out.version,
        };
        this.replication.append(slot, op, fx);
        fx.notify.set(v.dataInfoId, out.version);
      }
    }
    if (!ids) {
      if (page.done) this.roles.syncedFrom(slot, task.session, fx);
      else fx.sync.push({ ...task, after: page.lastDataInfoId });
    }
    return fx;
  }

  /** Per dataInfoId of a led slot: the digest of one session's publishers here registered by `asOf`. */
  digest(slotId: number, session: string, asOf: number): Map<string, RegistrationDigest> {
    const out = new Map<string, RegistrationDigest>();
    const slot = this.slots.get(slotId);
    if (!slot || slot.role !== 'leader') return out;
    for (const e of slot.store.entries()) {
      const mine = [...e.publishers.values()].filter(
        (p) => p.sessionAddress === session && p.registerTimestamp <= asOf,
      );
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

  // ---- replication (see ReplicationLog) ----

  /** The next batch of ops for one follower, over every slot it follows here; undefined when nothing to send. */
  replicationBatch(follower: string): ReplicateRequest | undefined {
    return this.replication.batchFor(this.slots.values(), follower, this.roles.table?.epoch ?? 0);
  }

  /** The follower's answer (or undefined when the call failed). Returns followers with more to receive. */
  onReplicateResponse(follower: string, req: ReplicateRequest, res: ReplicateResponse | undefined): Effects {
    return this.replication.onResponse(this.slots, follower, req, res);
  }

  /** Lowest seq, over followers that are following, not yet acknowledged in a slot (for write waits). */
  replicatedThrough(slotId: number): number {
    return this.replication.replicatedThrough(this.slots.get(slotId));
  }

  /** Follower side of Replicate. */
  onReplicate(req: ReplicateRequest): { res: ReplicateResponse; fx: Effects } {
    return this.replication.onReplicate(this.slots, req);
  }

  /** Leader side of SlotSnapshot: the whole slot; the follower continues from the returned seq. */
  snapshot(req: SlotSnapshotRequest): SlotSnapshotResponse {
    return this.replication.serveSnapshot(this.slots.get(req.slotId), req);
  }

  /** Follower: installs a snapshot fetched for `task`. Returns whether it was installed. */
  onSnapshot(task: SnapshotTask, res: SlotSnapshotResponse): boolean {
    return this.replication.installSnapshot(this.slots.get(task.slotId), task, res);
  }

  /** Whether a snapshot fetch for `task` is still wanted. */
  wantsSnapshot(task: SnapshotTask): boolean {
    return this.replication.wantsSnapshot(this.slots.get(task.slotId), task);
  }

  /** Drops tombstones (and closed-connection marks) older than `beforeMs`; returns the tombstones dropped. */
  compact(beforeMs: number): number {
    let n = 0;
    this.leases.compact(beforeMs);
    for (const s of this.slots.values()) n += s.store.compactTombstones(beforeMs);
    return n;
  }
}
