import type { SlotTable } from '@sofareg/contracts';
import type { Logger } from '@sofareg/server-kit';
import { leadersOf } from '@sofareg/session-core';
import type { ChangeWatch, Scheduler, SessionPort } from './session-port';

/** Wait before reopening a change stream that ended. */
const REOPEN_MS = 300;

/** What the change feed reports. */
export interface ChangeFeedSink {
  /** A data server says `dataInfoId` changed to `version`. */
  change(dataInfoId: string, version: number): void;
  /** A change stream (re)opened: what changed while it was down must be re-read. */
  reopened(): void;
}

/**
 * One change stream per slot leader of the current table: follows the table (opens streams to new leaders,
 * cancels those to servers that lead nothing), and reopens a stream that ended after {@link REOPEN_MS} while its
 * server still leads a slot.
 */
export class ChangeFeed {
  private readonly watches = new Map<string, ChangeWatch>();
  private stopped = false;

  constructor(
    private readonly port: SessionPort,
    private readonly scheduler: Scheduler,
    private readonly logger: Logger,
    private readonly slotTable: () => SlotTable | undefined,
    private readonly sink: ChangeFeedSink,
  ) {}

  /** Watches exactly the slot leaders of `table`. */
  follow(table: SlotTable): void {
    const servers = new Set(leadersOf(table));
    for (const [address, watch] of this.watches) {
      if (!servers.has(address)) {
        this.watches.delete(address);
        watch.cancel();
      }
    }
    for (const address of servers) if (!this.watches.has(address)) this.watch(address);
  }

  /** Cancels every stream; no more reports follow. */
  stop(): void {
    this.stopped = true;
    for (const w of this.watches.values()) w.cancel();
    this.watches.clear();
  }

  private watch(address: string): void {
    let watch: ChangeWatch | undefined = undefined;
    watch = this.port.watchChanges(address, {
      changes: (batch) => {
        for (const c of batch.changes) this.sink.change(c.dataInfoId, c.version);
      },
      opened: () => this.sink.reopened(),
      ended: (why) => {
        if (!watch || this.watches.get(address) !== watch || this.stopped) return;
        this.watches.delete(address);
        this.logger.warn({ data: address, why }, 'change stream from data ended; reopening');
        this.scheduler.after(REOPEN_MS, () => {
          const leads = leadersOf(this.slotTable()).includes(address);
          if (!this.stopped && !this.watches.has(address) && leads) this.watch(address);
        });
      },
    });
    this.watches.set(address, watch);
  }
}
