import type { Datum, SlotTable, WriteOp, WriteResult } from '@sofareg/contracts';
import { Logger, isTransient } from '@sofareg/server-kit';
import {
  RoutedOp,
  SlotRouting,
  leadersOf,
  shouldRetryWrite,
  writeFailure,
  writeRetryDelayMs,
} from '@sofareg/session-core';
import type { ScheduledTask, Scheduler, SessionPort } from './session-port';

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

/** A write waiting to be sent, in flight, or backing off; routed by its cached slot. */
interface PendingOp extends RoutedOp {
  readonly op: WriteOp;
  readonly deadline: number;
  attempt: number;
  resolve: (r: WriteResult) => void;
}

/**
 * Sends publisher writes and datum reads to the data server that leads each dataInfoId's slot (decided by
 * {@link SlotRouting}, whose write-hint invariant this keeps: routing is checked again as an op leaves its
 * queue). Writes are batched per leader (at most `maxInFlight` batches in flight per leader, each taking every
 * op queued for it up to `maxBatch`, sent at the end of the turn), and retried with backoff while the slot
 * moves or its leader is unreachable, until `retryForMs` has passed. Writes of one registerId may be retried
 * out of order: data keeps the newest by (version, registerTimestamp). Sends through the {@link SessionPort}.
 */
export class DataRouter {
  private readonly routing = new SlotRouting();
  private readonly queues = new Map<string, PendingOp[]>();
  /** Write batches in flight per leader. */
  private readonly inFlight = new Map<string, number>();
  private scheduled = false;
  private pending = 0;
  private closed = false;
  /** Ops waiting out a backoff, with their timers: a new slot table sends them at once. */
  private readonly backingOff = new Map<PendingOp, ScheduledTask>();

  constructor(
    private readonly opts: DataRouterOptions,
    private readonly port: SessionPort,
    private readonly scheduler: Scheduler,
  ) {}

  /** Writes accepted and not yet answered. */
  get pendingOps(): number {
    return this.pending;
  }

  /** The leader of a dataInfoId's slot under the current table (or a newer leader that synced from us). */
  leaderOf(dataInfoId: string): string | undefined {
    return this.routing.leaderOf(this.opts.slotTable(), dataInfoId);
  }

  /**
   * A data server leading `slot` under table `epoch` is reading this session's publishers. Returns true when
   * this changes where the slot's writes go (queued ops then move to it).
   */
  hintLeader(slot: number, epoch: number, leader: string): boolean {
    if (!this.routing.hint(this.opts.slotTable(), slot, epoch, leader)) return false;
    this.reroute();
    return true;
  }

  /** Moves queued ops whose slot has a new leader to that leader's queue. */
  private reroute(): void {
    const table = this.opts.slotTable();
    for (const [leader, q] of [...this.queues]) {
      const { stay, moved } = this.routing.split(table, leader, q);
      if (moved.length === 0) continue;
      if (stay.length > 0) this.queues.set(leader, stay);
      else this.queues.delete(leader);
      for (const p of moved) this.enqueue(p);
    }
  }

  /** Distinct slot leaders of the current table. */
  leaders(): string[] {
    return leadersOf(this.opts.slotTable());
  }

  /** Sends one write; resolves with its result (never rejects). */
  write(op: WriteOp, dataInfoId: string): Promise<WriteResult> {
    if (this.closed) return Promise.resolve(writeFailure('Closed', 'session is shutting down'));
    if (this.pending >= this.opts.maxPending) {
      const why = `more than ${this.opts.maxPending} writes are waiting for the data tier; retry later`;
      return Promise.resolve(writeFailure('Overloaded', why));
    }
    this.pending++;
    return new Promise<WriteResult>((resolve) => {
      this.enqueue({
        op,
        dataInfoId,
        slot: 0,
        slotCount: 0,
        deadline: this.scheduler.now() + this.opts.retryForMs,
        attempt: 0,
        resolve: (r) => {
          this.pending--;
          resolve(r);
        },
      });
    });
  }

  private enqueue(p: PendingOp): void {
    if (this.closed) return p.resolve(writeFailure('Closed', 'session is shutting down'));
    const leader = this.routing.route(this.opts.slotTable(), p);
    if (!leader) return this.retryLater(p, writeFailure('NotReady', 'no slot table yet'));
    let q = this.queues.get(leader);
    if (!q) {
      q = [];
      this.queues.set(leader, q);
    }
    q.push(p);
    if (!this.scheduled) {
      this.scheduled = true;
      this.scheduler.soon(() => this.flush());
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
    const table = this.opts.slotTable();
    const epoch = table?.epoch ?? 0;
    let n = this.inFlight.get(leader) ?? 0;
    const moved: PendingOp[] = [];
    while (q.length > 0 && n < this.opts.maxInFlight) {
      // An op may have waited here while its slot moved: routing is checked again as it leaves.
      const split = this.routing.split(table, leader, q.splice(0, this.opts.maxBatch));
      moved.push(...split.moved);
      if (split.stay.length === 0) continue;
      this.send(leader, split.stay, epoch);
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
    const req = {
      sessionAddress: this.opts.sessionAddress,
      sessionProcessId: this.opts.sessionProcessId,
      slotTableEpoch: epoch,
      ops: batch.map((b) => b.op),
      callId: 0,
    };
    this.port.write(leader, req).then(
      (res) => {
        batch.forEach((p, i) => {
          const r = res.results[i] ?? writeFailure('Internal', 'data answered fewer results than ops');
          if (shouldRetryWrite(r)) this.retryLater(p, r);
          else p.resolve(r);
        });
        done();
      },
      (err: Error) => {
        const result = writeFailure('Unavailable', `data server ${leader}: ${err.message}`);
        if (!isTransient(err)) this.opts.logger.error({ err, leader }, 'write to data failed');
        for (const p of batch) this.retryLater(p, result);
        done();
      },
    );
  }

  private retryLater(p: PendingOp, last: WriteResult): void {
    if (this.closed || this.scheduler.now() >= p.deadline) return p.resolve(last);
    p.attempt++;
    const delay = writeRetryDelayMs(p.attempt, this.scheduler.random());
    this.backingOff.set(
      p,
      this.scheduler.after(delay, () => {
        this.backingOff.delete(p);
        this.enqueue(p);
      }),
    );
  }

  /** The slot table changed: ops waiting for a leader are sent now rather than after their backoff. */
  onSlotTable(): void {
    this.routing.onTable(this.opts.slotTable());
    this.reroute();
    for (const [p, timer] of this.backingOff) {
      timer.cancel();
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
    const { dataCenter } = this.opts;
    await Promise.all(
      [...byLeader].map(async ([leader, ids]) => {
        try {
          const slotTableEpoch = this.opts.slotTable()?.epoch ?? 0;
          const res = await this.port.getData(leader, { dataInfoIds: ids, dataCenter, slotTableEpoch });
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

  /** Fails every queued and backing-off write with `Closed`; later writes fail at once. */
  close(): void {
    this.closed = true;
    const closed = writeFailure('Closed', 'session is shutting down');
    for (const q of this.queues.values()) for (const p of q) p.resolve(closed);
    this.queues.clear();
    for (const [p, timer] of this.backingOff) {
      timer.cancel();
      p.resolve(closed);
    }
    this.backingOff.clear();
  }
}
