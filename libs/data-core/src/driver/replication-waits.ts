import type { DriverScheduler } from './data-node-port';

interface Wait {
  slotId: number;
  seq: number;
  release: () => void;
}

/**
 * Writes waiting until every following follower has their ops. A wait is released when
 * `replicatedThrough(slot) >= seq` for every slot it wrote, or after `timeoutMs` (the session holds the truth,
 * so a write is acknowledged anyway then, and counted).
 */
export class ReplicationWaits {
  private readonly waits: Wait[] = [];

  constructor(
    private readonly scheduler: DriverScheduler,
    private readonly replicatedThrough: (slotId: number) => number,
    private readonly timeoutMs: number,
    private readonly onTimeout: () => void,
  ) {}

  /** Calls `done` once every slot in `seqs` (slot → last seq written) is replicated, or on the timeout. */
  wait(seqs: ReadonlyMap<number, number>, done: () => void): void {
    const pending = [...seqs].filter(([slotId, seq]) => this.replicatedThrough(slotId) < seq);
    if (pending.length === 0) return done();
    let left = pending.length;
    const mine: Wait[] = pending.map(([slotId, seq]) => ({
      slotId,
      seq,
      release: () => {
        if (--left > 0) return;
        cancel();
        done();
      },
    }));
    const cancel = this.scheduler.after(this.timeoutMs, () => {
      this.onTimeout();
      for (const w of mine) {
        const i = this.waits.indexOf(w);
        if (i >= 0) this.waits.splice(i, 1);
      }
      done();
    });
    this.waits.push(...mine);
  }

  /** Releases the waits whose slot has replicated far enough (call after replication progressed). */
  release(): void {
    for (let i = this.waits.length - 1; i >= 0; i--) {
      const w = this.waits[i];
      if (this.replicatedThrough(w.slotId) >= w.seq) {
        this.waits.splice(i, 1);
        w.release();
      }
    }
  }
}
