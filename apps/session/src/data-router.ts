import { DataServiceClient, Datum, ErrorInfo, SlotTable, WriteOp, WriteRequest, WriteResponse, WriteResult } from '@sofareg/contracts';
import { slotOf } from '@sofareg/consistent-hash';
import { ClientPool, Logger, StreamCallers, callUnary, isTransient } from '@sofareg/server-kit';

/** How long one Write batch may wait for its answer before its ops are retried. */
const WRITE_TIMEOUT_MS = 5_000;

/** Bounds of the write path. */
export interface DataRouterOptions {
  sessionAddress: string;
  sessionProcessId: string;
  dataCenter: string;
  /** Ops per Write batch. */
  maxBatch: number;
  /** How long one op may keep retrying (slot moves, data restarts) before it fails. */
  retryForMs: number;
  /** Ops waiting to be sent, at most; more are refused as Overloaded. */
  maxPending: number;
  /**
   * Write batches in flight per leader. Ops arriving meanwhile wait and go in the next batch: a quiet system
   * sends each op at once, a loaded one sends fewer, larger batches.
   */
  maxInFlight: number;
  logger: Logger;
  slotTable: () => SlotTable | undefined;
  /** Told the size of every Write batch sent (metrics). */
  onBatch?: (ops: number) => void;
}

interface PendingOp {
  op: WriteOp;
  dataInfoId: string;
  /** The op's slot under `slotCount` slots, computed once (a crc32c of the dataInfoId). */
  slot: number;
  slotCount: number;
  deadline: number;
  attempt: number;
  resolve: (r: WriteResult) => void;
}

const RETRY_CODES = new Set(['SlotMoved', 'NotReady', 'StaleEpoch', 'Unavailable']);

/**
 * Sends publisher writes and datum reads to the data server that leads each dataInfoId's slot. Writes are
 * batched per leader on one Write stream (at most `maxInFlight` batches in flight per leader, each taking every
 * op queued for it up to `maxBatch`, sent at the end of the event-loop turn), and retried
 * with backoff while the slot moves or its leader is unreachable, until `retryForMs` has passed. Writes of
 * one registerId may be retried out of order: data keeps the newest by (version, registerTimestamp).
 */
export class DataRouter {
  readonly pool = new ClientPool(DataServiceClient);
  private readonly queues = new Map<string, PendingOp[]>();
  /** One Write stream per leader. */
  private readonly writers = new StreamCallers<DataServiceClient, WriteRequest, WriteResponse>(this.pool, (c) => c.write(), WRITE_TIMEOUT_MS);
  /** Write batches in flight per leader. */
  private readonly inFlight = new Map<string, number>();
  private scheduled = false;
  private pending = 0;
  private closed = false;
  /**
   * Leaders learned from data servers syncing a slot under a newer table than ours (slot → epoch, leader):
   * once a new leader has read this session's publishers of a slot, every later write and read of that slot
   * must go to it, or a write could land only on the old leader after the new one took its copy.
   */
  private readonly hints = new Map<number, { epoch: number; leader: string }>();
  /** Ops waiting out a backoff, with their timers: a new slot table sends them at once. */
  private readonly backingOff = new Map<PendingOp, NodeJS.Timeout>();

  constructor(private readonly opts: DataRouterOptions) {}

  get pendingOps(): number {
    return this.pending;
  }

  /** The leader of a dataInfoId's slot under the current table (or a newer leader that synced from us). */
  leaderOf(dataInfoId: string): string | undefined {
    const t = this.opts.slotTable();
    if (!t || t.slots.length === 0) return undefined;
    return this.leaderOfSlot(t, slotOf(dataInfoId, t.slotCount));
  }

  private leaderOfSlot(t: SlotTable, slot: number): string | undefined {
    const hint = this.hints.get(slot);
    if (hint && hint.epoch > t.epoch) return hint.leader;
    return t.slots[slot]?.leader || undefined;
  }

  private leaderOfOp(p: PendingOp): string | undefined {
    const t = this.opts.slotTable();
    if (!t || t.slots.length === 0) return undefined;
    if (p.slotCount !== t.slotCount) {
      p.slot = slotOf(p.dataInfoId, t.slotCount);
      p.slotCount = t.slotCount;
    }
    return this.leaderOfSlot(t, p.slot);
  }

  /**
   * A data server leading `slot` under table `epoch` is reading this session's publishers. Returns true when
   * this changes where the slot's writes go.
   */
  hintLeader(slot: number, epoch: number, leader: string): boolean {
    const t = this.opts.slotTable();
    if (!leader || (t && epoch <= t.epoch)) return false;
    const cur = this.hints.get(slot);
    if (cur && epoch <= cur.epoch) return false;
    this.hints.set(slot, { epoch, leader });
    this.reroute();
    return true;
  }

  /** Moves queued ops whose slot has a new leader to that leader's queue. */
  private reroute(): void {
    for (const [leader, q] of [...this.queues]) {
      const stay: PendingOp[] = [];
      const moved: PendingOp[] = [];
      for (const p of q) (this.leaderOfOp(p) === leader ? stay : moved).push(p);
      if (moved.length === 0) continue;
      if (stay.length > 0) this.queues.set(leader, stay);
      else this.queues.delete(leader);
      for (const p of moved) this.enqueue(p);
    }
  }

  /** Distinct slot leaders of the current table. */
  leaders(): string[] {
    const t = this.opts.slotTable();
    return t ? [...new Set(t.slots.map((s) => s.leader).filter(Boolean))] : [];
  }

  /** Sends one write; resolves with its result (never rejects). */
  write(op: WriteOp, dataInfoId: string): Promise<WriteResult> {
    if (this.closed) return Promise.resolve(fail('Closed', 'session is shutting down'));
    if (this.pending >= this.opts.maxPending) return Promise.resolve(fail('Overloaded', `more than ${this.opts.maxPending} writes are waiting for the data tier; retry later`));
    this.pending++;
    return new Promise<WriteResult>((resolve) => {
      this.enqueue({
        op,
        dataInfoId,
        slot: 0,
        slotCount: 0,
        deadline: Date.now() + this.opts.retryForMs,
        attempt: 0,
        resolve: (r) => {
          this.pending--;
          resolve(r);
        },
      });
    });
  }

  private enqueue(p: PendingOp): void {
    if (this.closed) return p.resolve(fail('Closed', 'session is shutting down'));
    const leader = this.leaderOfOp(p);
    if (!leader) return this.retryLater(p, fail('NotReady', 'no slot table yet'));
    let q = this.queues.get(leader);
    if (!q) {
      q = [];
      this.queues.set(leader, q);
    }
    q.push(p);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    for (const leader of [...this.queues.keys()]) this.sendQueued(leader);
  }

  /** Sends what is queued for `leader`, as far as its in-flight bound allows. */
  private sendQueued(leader: string): void {
    const q = this.queues.get(leader);
    if (!q || this.closed) return;
    const epoch = this.opts.slotTable()?.epoch ?? 0;
    let n = this.inFlight.get(leader) ?? 0;
    const moved: PendingOp[] = [];
    while (q.length > 0 && n < this.opts.maxInFlight) {
      // An op may have waited here while its slot moved: routing is checked again as it leaves.
      const batch: PendingOp[] = [];
      for (const p of q.splice(0, this.opts.maxBatch)) (this.leaderOfOp(p) === leader ? batch : moved).push(p);
      if (batch.length === 0) continue;
      this.send(leader, batch, epoch);
      n++;
    }
    if (n > 0) this.inFlight.set(leader, n);
    if (q.length === 0 && this.queues.get(leader) === q) this.queues.delete(leader);
    for (const p of moved) this.enqueue(p);
  }

  private send(leader: string, batch: PendingOp[], epoch: number): void {
    this.opts.onBatch?.(batch.length);
    const done = () => {
      const n = (this.inFlight.get(leader) ?? 1) - 1;
      if (n > 0) this.inFlight.set(leader, n);
      else this.inFlight.delete(leader);
      this.sendQueued(leader);
    };
    this.writers.get(leader).call({
      sessionAddress: this.opts.sessionAddress,
      sessionProcessId: this.opts.sessionProcessId,
      slotTableEpoch: epoch,
      ops: batch.map((b) => b.op),
      callId: 0,
    }).then(
      (res) => {
        batch.forEach((p, i) => {
          const r = res.results[i] ?? fail('Internal', 'data answered fewer results than ops');
          if (r.ok || !r.error || !RETRY_CODES.has(r.error.code)) p.resolve(r);
          else this.retryLater(p, r);
        });
        done();
      },
      (err: Error) => {
        const result = fail('Unavailable', `data server ${leader}: ${err.message}`);
        if (!isTransient(err)) this.opts.logger.error({ err, leader }, 'write to data failed');
        for (const p of batch) this.retryLater(p, result);
        done();
      },
    );
  }

  private retryLater(p: PendingOp, last: WriteResult): void {
    if (this.closed || Date.now() >= p.deadline) return p.resolve(last);
    p.attempt++;
    const delay = Math.min(1_000, 20 * 2 ** Math.min(p.attempt, 6)) * (0.5 + Math.random() / 2);
    this.backingOff.set(
      p,
      setTimeout(() => {
        this.backingOff.delete(p);
        this.enqueue(p);
      }, delay),
    );
  }

  /** The slot table changed: ops waiting for a leader are sent now rather than after their backoff. */
  onSlotTable(): void {
    const t = this.opts.slotTable();
    for (const [slot, h] of this.hints) if (!t || h.epoch <= t.epoch) this.hints.delete(slot);
    this.reroute();
    for (const [p, timer] of this.backingOff) {
      clearTimeout(timer);
      this.enqueue(p);
    }
    this.backingOff.clear();
  }

  /**
   * Fetches whole datums from their slot leaders, one GetData call per leader. Ids whose leader is unknown,
   * unreachable or refuses (SlotMoved) are left out of the result; the caller retries them later.
   */
  async fetch(dataInfoIds: string[]): Promise<{ data: Datum[]; failed: string[] }> {
    const byLeader = new Map<string, string[]>();
    const failed: string[] = [];
    for (const id of dataInfoIds) {
      const leader = this.leaderOf(id);
      if (!leader) failed.push(id);
      else {
        let l = byLeader.get(leader);
        if (!l) byLeader.set(leader, (l = []));
        l.push(id);
      }
    }
    const data: Datum[] = [];
    const failedData: Datum[] = [];
    await Promise.all(
      [...byLeader].map(async ([leader, ids]) => {
        const client = this.pool.get(leader);
        try {
          const res = await callUnary(client, client.getData, { dataInfoIds: ids, dataCenter: this.opts.dataCenter, slotTableEpoch: this.opts.slotTable()?.epoch ?? 0 });
          // A datum read from a server that stopped leading meanwhile may be behind the new leader: read again.
          for (const d of res.data) (this.leaderOf(d.dataInfoId) === leader ? data : failedData).push(d);
          // An id the answer leaves out (neither a datum nor an error) failed too: the caller retries it.
          const answered = new Set(res.data.map((d) => d.dataInfoId));
          for (const id of ids) if (!answered.has(id)) failed.push(id);
        } catch (err) {
          this.opts.logger.warn({ leader, err: (err as Error).message, ids: ids.length }, 'fetching data failed');
          failed.push(...ids);
        }
      }),
    );
    failed.push(...failedData.map((d) => d.dataInfoId));
    return { data, failed };
  }

  close(): void {
    this.closed = true;
    for (const q of this.queues.values()) for (const p of q) p.resolve(fail('Closed', 'session is shutting down'));
    this.queues.clear();
    for (const [p, timer] of this.backingOff) {
      clearTimeout(timer);
      p.resolve(fail('Closed', 'session is shutting down'));
    }
    this.backingOff.clear();
    this.writers.closeAll();
    this.pool.closeAll();
  }
}

function fail(code: string, message: string): WriteResult {
  const error: ErrorInfo = { code, message, field: '', leader: '' };
  return { ok: false, error };
}
