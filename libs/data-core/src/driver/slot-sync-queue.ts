import type { SyncTask } from '../effects';
import type { DriverContext } from './driver-context';

/**
 * Slot pages to fetch from sessions (a migrating leader's sync): a queue with at most `concurrency` fetches at
 * once; a failed fetch is queued again after an exponential backoff (50 ms doubling, at most 2 s). A task the
 * core no longer wants (the slot moved on) is dropped when its turn comes.
 */
export class SlotSyncQueue {
  private readonly queue: { task: SyncTask; attempt: number }[] = [];
  private running = 0;

  constructor(
    private readonly ctx: DriverContext,
    private readonly pageSize: number,
    private readonly concurrency: number,
  ) {}

  push(task: SyncTask, attempt = 0): void {
    this.queue.push({ task, attempt });
    this.drain();
  }

  private drain(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const next = this.queue.shift() as { task: SyncTask; attempt: number };
      this.running++;
      this.fetch(next.task, next.attempt, () => {
        this.running--;
        this.drain();
      });
    }
  }

  private fetch(t: SyncTask, attempt: number, done: () => void): void {
    const { core, port, scheduler, log, observer } = this.ctx;
    if (this.ctx.stopped() || !core.wantsSync(t)) return done();
    const address = this.ctx.syncAddressOf(t.session);
    const table = core.slotTable;
    const failed = (err: Error) => {
      observer.syncPage?.(false);
      const delay = Math.min(2_000, 50 * 2 ** Math.min(attempt, 6));
      if (attempt % 10 === 0) {
        log.warn(
          { slot: t.slotId, session: t.session, err: err.message, attempt },
          'slot sync from session failed; retrying',
        );
      }
      this.ctx.later(delay, () => this.push(t, attempt + 1));
      done();
    };
    if (!address || !table) return failed(new Error(`no sync address for session ${t.session}`));
    const req = {
      slotId: t.slotId,
      slotTableEpoch: table.epoch,
      afterDataInfoId: t.after,
      maxPublishers: this.pageSize,
      dataInfoIds: [],
      slotCount: table.slotCount,
      requester: core.opts.self,
    };
    port.fetchSlotPublishers(address, req, (page) => {
      if (this.ctx.stopped()) return done();
      if (page instanceof Error) return failed(page);
      observer.syncPage?.(true);
      this.ctx.run(core.onSyncPage(t, page, scheduler.now()));
      done();
    });
  }
}
