import type { GetDataResponse, ReplicateRequest, ReplicateResponse, SlotSnapshotResponse, SlotTable, WriteOp, WriteResponse } from '@sofareg/contracts';
import { DataServerCore, Effects, SnapshotTask, SyncTask } from '@sofareg/data-core';
import { SimClock, SimNetwork } from './sim-kernel';
import type { SimSession } from './sim-session';

/**
 * A data server in the simulation: the real {@link DataServerCore}, with its effects carried out over the
 * simulated network the way apps/data's shell does (sync pages with retry, snapshots, one replication call
 * in flight per follower, change notifications, periodic digest repair). A crash drops the whole object.
 */
export class SimData {
  readonly core: DataServerCore;
  private readonly pumping = new Set<string>();
  private alive = true;

  constructor(
    readonly address: string,
    private readonly clock: SimClock,
    private readonly net: SimNetwork,
    private readonly peers: (address: string) => SimData | undefined,
    private readonly sessions: (address: string) => SimSession | undefined,
    private readonly sessionList: () => string[],
  ) {
    this.core = new DataServerCore({ self: address, dataCenter: 'dc', maxLogPerSlot: 50, maxOpsPerSlot: 20, sessionGraceMs: 2_000 });
  }

  kill(): void {
    this.alive = false;
  }

  onTable(t: SlotTable): void {
    this.run(this.core.onSlotTable(t, this.clock.now));
  }

  onSessions(list: string[]): void {
    this.run(this.core.onSessions(list, this.clock.now));
  }

  tick(): void {
    this.run(this.core.tick(this.clock.now));
  }

  write(session: string, epoch: number, ops: WriteOp[]): WriteResponse {
    void session;
    const { results, fx } = this.core.write(ops, epoch, this.clock.now);
    this.run(fx);
    return { results, slotTableEpoch: this.core.slotTable?.epoch ?? 0, callId: 0 };
  }

  getData(ids: string[]): GetDataResponse {
    const res: GetDataResponse = { data: [], errors: [], slotTableEpoch: 0 };
    for (const id of ids) {
      const r = this.core.read(id);
      if ('datum' in r) res.data.push(r.datum);
      else res.errors.push({ dataInfoId: id, error: r.error });
    }
    return res;
  }

  clientOff(session: string, connectIds: string[]): boolean {
    this.run(this.core.clientOff(session, new Set(connectIds), this.clock.now));
    return true;
  }

  replicate(req: ReplicateRequest): ReplicateResponse {
    const { res, fx } = this.core.onReplicate(req);
    this.run(fx);
    return res;
  }

  /** Periodic work: digest comparison with every session for every led, accepted slot. */
  digestRound(): void {
    const table = this.core.slotTable;
    if (!table || !this.alive) return;
    for (const slot of this.core.slots.values()) {
      if (slot.role !== 'leader' || slot.status !== 'Accept') continue;
      for (const session of this.sessionList()) {
        const leaderEpoch = slot.leaderEpoch;
        this.net.call(this.address, session, () => this.sessions(session)?.digest(slot.id, table.slotCount), (theirs) => {
          if (!theirs) return;
          const differ = this.core.digestDiff(slot.id, session, theirs);
          if (differ.size === 0) return;
          const task: SyncTask = { session, slotId: slot.id, leaderEpoch, after: '' };
          this.net.call(this.address, session, () => this.sessions(session)?.fetchSlot(slot.id, table.slotCount, table.epoch, this.address, '', 0, [...differ]), (page) => {
            if (page) this.run(this.core.onSyncPage(task, page, this.clock.now, differ));
          });
        });
      }
    }
  }

  private run(fx: Effects): void {
    if (!this.alive) return;
    if (fx.notify.size > 0) {
      const changes = [...fx.notify];
      for (const s of this.sessionList()) {
        this.net.send(this.address, s, () => {
          const session = this.sessions(s);
          for (const [id, v] of changes) session?.onChange(id, v);
        });
      }
    }
    for (const t of fx.sync) this.sync(t);
    for (const t of fx.snapshots) this.snapshot(t);
    for (const f of fx.replicateTo) this.pump(f);
  }

  private sync(t: SyncTask): void {
    if (!this.alive || !this.core.wantsSync(t)) return;
    const table = this.core.slotTable;
    this.net.call(
      this.address,
      t.session,
      () => (table ? this.sessions(t.session)?.fetchSlot(t.slotId, table.slotCount, table.epoch, this.address, t.after, 3) : undefined),
      (page) => {
        if (page) this.run(this.core.onSyncPage(t, page, this.clock.now));
        else this.clock.after(30, () => this.sync(t));
      },
    );
  }

  private snapshot(t: SnapshotTask): void {
    if (!this.alive || !this.core.wantsSnapshot(t)) return;
    this.net.call(
      this.address,
      t.leader,
      () => this.peers(t.leader)?.core.snapshot({ slotId: t.slotId, leaderEpoch: t.leaderEpoch, follower: this.address }),
      (res: SlotSnapshotResponse | undefined) => {
        if (res && this.core.onSnapshot(t, res)) return;
        this.clock.after(50, () => this.snapshot(t));
      },
    );
  }

  private pump(follower: string): void {
    if (!this.alive || this.pumping.has(follower)) return;
    const req = this.core.replicationBatch(follower);
    if (!req) return;
    this.pumping.add(follower);
    this.net.call(
      this.address,
      follower,
      () => this.peers(follower)?.replicate(req),
      (res) => {
        this.pumping.delete(follower);
        const fx = this.core.onReplicateResponse(follower, req, res);
        this.run({ ...fx, replicateTo: new Set(), backoff: new Set() });
        if (res && !fx.backoff.has(follower)) this.pump(follower);
        else this.clock.after(50, () => this.pump(follower));
      },
    );
  }
}
