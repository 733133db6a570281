import { slotOf } from '@sofareg/consistent-hash';
import type {
  DataChangeBatch,
  Datum,
  FetchSlotPublishersRequest,
  FetchSlotPublishersResponse,
  GetDataResponse,
  Publisher,
  SlotDigestRequest,
  SlotDigestResponse,
  SlotTable,
  WriteOp,
  WriteResponse,
} from '@sofareg/contracts';
import { digestRegistrations } from '@sofareg/model';
import { SeededRandom, SimClock, SimNetwork } from '../kernel';
import type { DataServerSeam, SessionSeam } from './seams';

/** What every subscriber is checked against. */
export interface Oracle {
  /** registerId → whether it is live (registered and not removed by its client). */
  live: Map<string, boolean>;
  violations: string[];
}

interface Pending {
  op: WriteOp;
  dataInfoId: string;
  onAck: () => void;
}

/** One subscriber per dataInfoId per session, with what it was last pushed. */
interface View {
  version: number;
  /** registerId → dataList joined, as last pushed. */
  publishers: Map<string, string>;
  pushes: number;
}

/**
 * A session in the simulation: the same protocol as apps/session (authoritative publishers per connection,
 * writes routed to slot leaders and retried, leader hints from syncing data servers, change notifications →
 * fetch → push, sync pages and digests served to data servers), over the simulated network.
 */
export class SimSession implements SessionSeam {
  table: SlotTable | undefined;
  private readonly hints = new Map<number, { epoch: number; leader: string }>();
  readonly publishers = new Map<string, Publisher>();
  readonly views = new Map<string, View>();
  private readonly cache = new Map<string, number>();
  private readonly fetching = new Set<string>();
  private readonly refetch = new Set<string>();
  private unacked = 0;

  constructor(
    readonly address: string,
    private readonly dataIds: string[],
    private readonly clock: SimClock,
    private readonly net: SimNetwork,
    private readonly rnd: SeededRandom,
    private readonly data: (address: string) => DataServerSeam | undefined,
    private readonly oracle: Oracle,
  ) {
    for (const id of dataIds) this.views.set(id, { version: -1, publishers: new Map(), pushes: 0 });
  }

  get pendingWrites(): number {
    return this.unacked;
  }

  /** Periodic work: re-read every datum (the version scan that repairs a lost notification). */
  tick(): void {
    for (const id of this.dataIds) this.fetch(id);
  }

  onTable(t: SlotTable): void {
    if (this.table && t.epoch <= this.table.epoch) return;
    this.table = t;
    for (const [slot, h] of this.hints) if (h.epoch <= t.epoch) this.hints.delete(slot);
    for (const id of this.dataIds) this.fetch(id);
  }

  private leaderOf(dataInfoId: string): string | undefined {
    const t = this.table;
    if (!t) return undefined;
    const slot = slotOf(dataInfoId, t.slotCount);
    const h = this.hints.get(slot);
    return h && h.epoch > t.epoch ? h.leader : t.slots[slot]?.leader;
  }

  // ---- client operations ----

  publish(p: Publisher, onAck: () => void): void {
    const prev = this.publishers.get(p.registerId);
    if (prev && prev.version > p.version) return;
    this.publishers.set(p.registerId, p);
    this.write({ op: { op: { $case: 'publish', value: p } }, dataInfoId: p.dataInfoId, onAck });
  }

  unpublish(registerId: string): void {
    const p = this.publishers.get(registerId);
    if (!p) return;
    this.publishers.delete(registerId);
    this.write({
      op: { op: { $case: 'unpublish', value: { dataInfoId: p.dataInfoId, registerId, version: p.version, registerTimestamp: this.clock.now, sessionAddress: this.address } } },
      dataInfoId: p.dataInfoId,
      onAck: () => undefined,
    });
  }

  /** A client connection closed: its publishers go, and every leader is told until it answers. */
  closeConnection(connectId: string): void {
    for (const [id, p] of [...this.publishers]) if (p.connectId === connectId) this.publishers.delete(id);
    const leaders = new Set(this.table?.slots.map((s) => s.leader) ?? []);
    for (const leader of leaders) this.clientOff(leader, connectId, 0);
  }

  private clientOff(leader: string, connectId: string, attempt: number): void {
    this.net.call(
      this.address,
      leader,
      () => this.data(leader)?.clientOff({ sessionAddress: this.address, slotTableEpoch: this.table?.epoch ?? 0, connectIds: [connectId] }),
      (ok) => {
        if (ok === undefined && attempt < 200) this.clock.after(50, () => this.clientOff(leader, connectId, attempt + 1));
      },
    );
    // Leaders of a later table must hear it too: they may sync from a page read before the close.
  }

  private write(p: Pending): void {
    this.unacked++;
    this.send(p);
  }

  private send(p: Pending): void {
    const leader = this.leaderOf(p.dataInfoId);
    const retry = () => this.clock.after(this.rnd.int(10, 100), () => this.send(p));
    if (!leader) return retry();
    this.net.request(
      this.address,
      leader,
      (respond: (res: WriteResponse) => void) => this.data(leader)?.write({ sessionAddress: this.address, sessionProcessId: '', slotTableEpoch: this.table?.epoch ?? 0, ops: [p.op], callId: 0 }, respond),
      (res: WriteResponse | undefined) => {
        const r = res?.results[0];
        if (r?.ok) {
          this.unacked--;
          p.onAck();
        } else retry();
      },
    );
  }

  // ---- change notifications and pushes ----

  /** A data server's change notification (the watch stream). */
  onChanges(batch: DataChangeBatch): void {
    for (const c of batch.changes) this.onChange(c.dataInfoId, c.version);
  }

  private onChange(dataInfoId: string, version: number): void {
    if ((this.cache.get(dataInfoId) ?? -1) < version) this.fetch(dataInfoId);
  }

  private fetch(dataInfoId: string): void {
    if (this.fetching.has(dataInfoId)) {
      this.refetch.add(dataInfoId);
      return;
    }
    const leader = this.leaderOf(dataInfoId);
    if (!leader) return;
    this.fetching.add(dataInfoId);
    this.net.call(
      this.address,
      leader,
      () => this.data(leader)?.getData({ dataInfoIds: [dataInfoId], dataCenter: '', slotTableEpoch: this.table?.epoch ?? 0 }),
      (res: GetDataResponse | undefined) => {
        this.fetching.delete(dataInfoId);
        const d = res?.data[0];
        // Only the current leader's answer counts: a server that stopped leading may be behind.
        if (d && this.leaderOf(dataInfoId) === leader) this.onDatum(d);
        else this.clock.after(50, () => this.fetch(dataInfoId));
        if (this.refetch.delete(dataInfoId)) this.fetch(dataInfoId);
      },
    );
  }

  private onDatum(d: Datum): void {
    const cached = this.cache.get(d.dataInfoId) ?? -1;
    if (d.version <= cached) return;
    this.cache.set(d.dataInfoId, d.version);
    const view = this.views.get(d.dataInfoId);
    if (!view || d.version <= view.version) return;
    const next = new Map(d.publishers.map((p) => [p.registerId, p.dataList.join(',')]));
    for (const id of view.publishers.keys()) {
      if (!next.has(id) && this.oracle.live.get(id)) {
        this.oracle.violations.push(`t=${this.clock.now} ${this.address} ${d.dataInfoId}: push v${d.version} lacks live publisher ${id} pushed before (v${view.version})`);
      }
    }
    view.version = d.version;
    view.publishers = next;
    view.pushes++;
  }

  // ---- served to data servers ----

  fetchSlotPublishers(req: FetchSlotPublishersRequest): FetchSlotPublishersResponse {
    const { slotId, slotCount, slotTableEpoch: epoch, requester, afterDataInfoId: after, maxPublishers: max } = req;
    const ids = req.dataInfoIds.length > 0 ? req.dataInfoIds : undefined;
    const t = this.table;
    if (t && epoch > t.epoch) {
      const h = this.hints.get(slotId);
      if (!h || epoch > h.epoch) this.hints.set(slotId, { epoch, leader: requester });
    }
    const byId = this.bySlot(slotId, slotCount);
    const res: FetchSlotPublishersResponse = { publishers: [], lastDataInfoId: '', done: true, sessionProcessId: '', snapshotTime: this.clock.now, versions: [] };
    const add = (id: string) => {
      res.publishers.push(...(byId.get(id) ?? []));
      const v = this.views.get(id)?.version ?? -1;
      if (v >= 0) res.versions.push({ dataInfoId: id, version: v });
    };
    if (ids) {
      ids.forEach(add);
      return res;
    }
    const sorted = [...byId.keys()].filter((id) => id > after).sort();
    for (let i = 0; i < sorted.length; i++) {
      add(sorted[i]);
      res.lastDataInfoId = sorted[i];
      if (res.publishers.length >= max && i < sorted.length - 1) {
        res.done = false;
        break;
      }
    }
    return res;
  }

  slotDigest(req: SlotDigestRequest): SlotDigestResponse {
    const byId = this.bySlot(req.slotId, req.slotCount);
    const digests = [...byId].filter(([, l]) => l.length > 0).map(([dataInfoId, l]) => ({ dataInfoId, ...digestRegistrations(l) }));
    return { digests, sessionProcessId: '', snapshotTime: this.clock.now };
  }

  /** This session's publishers of a slot by dataInfoId, plus (with none) every dataInfoId it has subscribers of. */
  private bySlot(slotId: number, slotCount: number): Map<string, Publisher[]> {
    const byId = new Map<string, Publisher[]>();
    for (const id of this.views.keys()) if (slotOf(id, slotCount) === slotId) byId.set(id, []);
    for (const p of this.publishers.values()) {
      if (slotOf(p.dataInfoId, slotCount) !== slotId) continue;
      let l = byId.get(p.dataInfoId);
      if (!l) byId.set(p.dataInfoId, (l = []));
      l.push(p);
    }
    return byId;
  }
}
