import { DataServiceClient, Datum, ErrorInfo, SlotTable, WriteOp, WriteResult } from '@sofareg/contracts';
import { slotOf } from '@sofareg/consistent-hash';
import { ClientPool, Logger, callUnary, isTransient } from '@sofareg/server-kit';

/** Bounds of the write path. */
export interface DataRouterOptions {
  sessionAddress: string;
  sessionProcessId: string;
  dataCenter: string;
  /** Ops per Write call. */
  maxBatch: number;
  /** How long one op may keep retrying (slot moves, data restarts) before it fails. */
  retryForMs: number;
  /** Ops waiting to be sent, at most; more are refused as Overloaded. */
  maxPending: number;
  logger: Logger;
  slotTable: () => SlotTable | undefined;
}

interface PendingOp {
  op: WriteOp;
  dataInfoId: string;
  deadline: number;
  attempt: number;
  resolve: (r: WriteResult) => void;
}

const RETRY_CODES = new Set(['SlotMoved', 'NotReady', 'StaleEpoch', 'Unavailable']);

/**
 * Sends publisher writes and datum reads to the data server that leads each dataInfoId's slot. Writes are
 * batched per leader (one Write call per leader per event-loop turn, at most `maxBatch` ops), and retried
 * with backoff while the slot moves or its leader is unreachable, until `retryForMs` has passed. Writes of
 * one registerId may be retried out of order: data keeps the newest by (version, registerTimestamp).
 */
export class DataRouter {
  readonly pool = new ClientPool(DataServiceClient);
  private readonly queues = new Map<string, PendingOp[]>();
  private scheduled = false;
  private pending = 0;
  private closed = false;
  /** Ops waiting out a backoff, with their timers: a new slot table sends them at once. */
  private readonly backingOff = new Map<PendingOp, NodeJS.Timeout>();

  constructor(private readonly opts: DataRouterOptions) {}

  get pendingOps(): number {
    return this.pending;
  }

  /** The leader of a dataInfoId's slot under the current table, if any. */
  leaderOf(dataInfoId: string): string | undefined {
    const t = this.opts.slotTable();
    if (!t || t.slots.length === 0) return undefined;
    return t.slots[slotOf(dataInfoId, t.slotCount)]?.leader || undefined;
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
    const leader = this.leaderOf(p.dataInfoId);
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
    const epoch = this.opts.slotTable()?.epoch ?? 0;
    for (const [leader, q] of this.queues) {
      this.queues.delete(leader);
      for (let i = 0; i < q.length; i += this.opts.maxBatch) this.send(leader, q.slice(i, i + this.opts.maxBatch), epoch);
    }
  }

  private send(leader: string, batch: PendingOp[], epoch: number): void {
    const client = this.pool.get(leader);
    callUnary(client, client.write, {
      sessionAddress: this.opts.sessionAddress,
      sessionProcessId: this.opts.sessionProcessId,
      slotTableEpoch: epoch,
      ops: batch.map((b) => b.op),
    }).then(
      (res) => {
        batch.forEach((p, i) => {
          const r = res.results[i] ?? fail('Internal', 'data answered fewer results than ops');
          if (r.ok || !r.error || !RETRY_CODES.has(r.error.code)) p.resolve(r);
          else this.retryLater(p, r);
        });
      },
      (err: Error) => {
        const result = fail('Unavailable', `data server ${leader}: ${err.message}`);
        if (!isTransient(err)) this.opts.logger.error({ err, leader }, 'write to data failed');
        for (const p of batch) this.retryLater(p, result);
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
    await Promise.all(
      [...byLeader].map(async ([leader, ids]) => {
        const client = this.pool.get(leader);
        try {
          const res = await callUnary(client, client.getData, { dataInfoIds: ids, dataCenter: this.opts.dataCenter, slotTableEpoch: this.opts.slotTable()?.epoch ?? 0 });
          data.push(...res.data);
          failed.push(...res.errors.map((e) => e.dataInfoId));
        } catch (err) {
          this.opts.logger.warn({ leader, err: (err as Error).message, ids: ids.length }, 'fetching data failed');
          failed.push(...ids);
        }
      }),
    );
    return { data, failed };
  }

  close(): void {
    this.closed = true;
    for (const [p, timer] of this.backingOff) {
      clearTimeout(timer);
      p.resolve(fail('Closed', 'session is shutting down'));
    }
    this.backingOff.clear();
    this.pool.closeAll();
  }
}

function fail(code: string, message: string): WriteResult {
  const error: ErrorInfo = { code, message, field: '', leader: '' };
  return { ok: false, error };
}
