import type { SyncTask } from '../effects';
import type { DriverContext } from './driver-context';

/**
 * Digest repair: a round compares every led, accepted slot with every live session, one pair at a time, and
 * re-reads from the session the dataInfoIds whose digests differ. A round still running when the next is due
 * is left to finish (the next one is skipped).
 */
export class DigestRounds {
  private running = false;

  constructor(private readonly ctx: DriverContext) {}

  /** Starts a round unless one is running. */
  round(): void {
    const { core } = this.ctx;
    const table = core.slotTable;
    const sessions = core.liveSessions;
    if (!table || !sessions || this.ctx.stopped() || this.running) return;
    const pairs: { slotId: number; leaderEpoch: number; session: string; address: string }[] = [];
    for (const slot of core.slots.values()) {
      if (slot.role !== 'leader' || slot.status !== 'Accept') continue;
      for (const session of sessions) {
        const address = this.ctx.syncAddressOf(session);
        if (address) pairs.push({ slotId: slot.id, leaderEpoch: slot.leaderEpoch, session, address });
      }
    }
    this.running = true;
    const next = (i: number): void => {
      if (i >= pairs.length || this.ctx.stopped()) {
        this.running = false;
        return;
      }
      this.compare(pairs[i], table, () => next(i + 1));
    };
    next(0);
  }

  private compare(
    pair: { slotId: number; leaderEpoch: number; session: string; address: string },
    table: { epoch: number; slotCount: number },
    done: () => void,
  ): void {
    const { core, port, scheduler, log, observer } = this.ctx;
    const { slotId, leaderEpoch, session, address } = pair;
    const failed = (err: Error) => {
      log.debug({ slot: slotId, session, err: err.message }, 'digest comparison failed');
      done();
    };
    port.slotDigest(address, { slotId, slotTableEpoch: table.epoch, slotCount: table.slotCount }, (theirs) => {
      if (theirs instanceof Error) return failed(theirs);
      const differ = core.digestDiff(slotId, session, theirs);
      if (differ.size === 0) return done();
      const req = {
        slotId,
        slotTableEpoch: table.epoch,
        afterDataInfoId: '',
        maxPublishers: 0,
        dataInfoIds: [...differ],
        slotCount: table.slotCount,
        requester: core.opts.self,
      };
      port.fetchSlotPublishers(address, req, (page) => {
        if (page instanceof Error) return failed(page);
        observer.repaired?.(differ.size);
        log.info({ slot: slotId, session, dataInfoIds: differ.size }, 'digest differs; repairing from session');
        const task: SyncTask = { session, slotId, leaderEpoch, after: '' };
        this.ctx.run(core.onSyncPage(task, page, scheduler.now(), differ));
        done();
      });
    });
  }
}
