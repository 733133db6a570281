import { slotOf } from '@sofareg/consistent-hash';
import type { Datum, ErrorInfo, SlotTable } from '@sofareg/contracts';
import { Effects, SyncTask, coreError } from './effects';
import { SlotReplicaState, newReplica } from './slot-replica';

/**
 * Which slots this server holds and in which role, from the slot table, and each led slot's migration: a new
 * leader takes writes at once but serves reads only once it has synced the slot from every live session (the
 * sessions hold the truth). Pure; see the README for the state diagram.
 */
export class SlotRoles {
  private current: SlotTable | undefined;
  /** The replicas held, by slot id. */
  readonly slots = new Map<number, SlotReplicaState>();

  constructor(private readonly self: string) {}

  /** The newest slot table taken, if any. */
  get table(): SlotTable | undefined {
    return this.current;
  }

  /**
   * Takes a newer slot table (an older or equal epoch is ignored: undefined): replicas whose role, leader or
   * leader epoch changed start over (keeping their data), followers to be are told to fetch a snapshot, and
   * slots no longer held are dropped. Returns the replicas that started leading (their migration is to start).
   */
  applyTable(table: SlotTable, fx: Effects): SlotReplicaState[] | undefined {
    if (this.current && table.epoch <= this.current.epoch) return undefined;
    this.current = table;
    const started: SlotReplicaState[] = [];
    const keep = new Set<number>();
    for (const t of table.slots) {
      const cur = this.slots.get(t.id);
      if (t.leader === this.self) {
        keep.add(t.id);
        if (!cur || cur.role !== 'leader' || cur.leaderEpoch !== t.leaderEpoch) {
          const slot = newReplica(t, 'leader', cur?.store);
          this.slots.set(t.id, slot);
          started.push(slot);
        }
      } else if (t.followers.includes(this.self)) {
        keep.add(t.id);
        if (!cur || cur.role !== 'follower' || cur.leader !== t.leader || cur.leaderEpoch !== t.leaderEpoch) {
          this.slots.set(t.id, newReplica(t, 'follower', cur?.store));
          fx.snapshots.push({ leader: t.leader, slotId: t.id, leaderEpoch: t.leaderEpoch });
        }
      }
    }
    for (const id of [...this.slots.keys()]) if (!keep.has(id)) this.slots.delete(id);
    return started;
  }

  /** Starts syncing a led slot from every live session; waits for the session list when it is not known yet. */
  startMigration(slot: SlotReplicaState, sessions: ReadonlySet<string> | undefined, fx: Effects): void {
    if (!sessions) return;
    slot.pendingSessions = new Set(sessions);
    for (const session of sessions) {
      fx.sync.push({ session, slotId: slot.id, leaderEpoch: slot.leaderEpoch, after: '' });
    }
    this.maybeAccept(slot, fx);
  }

  /** A migrating slot synced from every live session starts serving reads. */
  maybeAccept(slot: SlotReplicaState, fx: Effects): void {
    if (slot.status !== 'Migrating' || !slot.pendingSessions || slot.pendingSessions.size > 0) return;
    slot.status = 'Accept';
    // Sessions may have been refused reads meanwhile: tell them every datum of the slot is readable now.
    for (const e of slot.store.entries()) fx.notify.set(e.dataInfoId, e.version);
  }

  /**
   * Meta's new session list, for migrations: the first list starts them; afterwards a session no longer
   * listed is no longer waited for.
   */
  onSessions(live: ReadonlySet<string>, first: boolean, fx: Effects): void {
    for (const slot of this.slots.values()) {
      if (slot.role !== 'leader' || slot.status !== 'Migrating') continue;
      if (first || !slot.pendingSessions) this.startMigration(slot, live, fx);
      else {
        for (const s of [...slot.pendingSessions]) if (!live.has(s)) slot.pendingSessions.delete(s);
        this.maybeAccept(slot, fx);
      }
    }
  }

  /** A session's last sync page of a migrating slot is in. */
  syncedFrom(slot: SlotReplicaState, session: string, fx: Effects): void {
    slot.pendingSessions?.delete(session);
    this.maybeAccept(slot, fx);
  }

  /** Whether a sync page for `task` is still wanted (the slot is still led under the same epoch). */
  wantsSync(task: SyncTask, live: ReadonlySet<string> | undefined): boolean {
    const slot = this.slots.get(task.slotId);
    return (
      slot?.role === 'leader' &&
      slot.leaderEpoch === task.leaderEpoch &&
      (live?.has(task.session) ?? false) &&
      (slot.status === 'Accept' || (slot.pendingSessions?.has(task.session) ?? false))
    );
  }

  /** The replica of a dataInfoId's slot when this server leads it; else NotReady or SlotMoved (with the leader). */
  leading(dataInfoId: string): { slot: SlotReplicaState } | { error: ErrorInfo } {
    if (!this.current) return { error: coreError('NotReady', 'data server has no slot table yet') };
    const id = slotOf(dataInfoId, this.current.slotCount);
    const slot = this.slots.get(id);
    if (slot?.role === 'leader') return { slot };
    const leader = this.current.slots[id]?.leader ?? '';
    return { error: coreError('SlotMoved', `slot ${id} is led by ${leader || 'nobody'}`, leader) };
  }

  /** Reads one datum: only from a slot this server leads and has finished migrating (else NotReady). */
  read(dataInfoId: string, dataCenter: string): { datum: Datum } | { error: ErrorInfo } {
    const lead = this.leading(dataInfoId);
    if ('error' in lead) return lead;
    if (lead.slot.status !== 'Accept') {
      return { error: coreError('NotReady', `slot ${lead.slot.id} is still syncing from the sessions`) };
    }
    const e = lead.slot.store.get(dataInfoId);
    const publishers = e ? [...e.publishers.values()] : [];
    return { datum: { dataInfoId, version: e?.version ?? 0, publishers, dataCenter } };
  }
}
