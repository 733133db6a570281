/**
 * Coalesces datum version changes between flushes: many changes of one dataInfoId become one notification
 * carrying the highest version. Bounded: `add` reports when the batch is full so the caller flushes at once.
 */
export class ChangeBatcher {
  private pending = new Map<string, number>();

  constructor(private readonly maxBatch: number) {}

  /** Records a change; returns true when the batch has reached its bound. */
  add(dataInfoId: string, version: number): boolean {
    const prev = this.pending.get(dataInfoId);
    if (prev === undefined || version > prev) this.pending.set(dataInfoId, version);
    return this.pending.size >= this.maxBatch;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Takes everything pending. */
  drain(): { dataInfoId: string; version: number }[] {
    const out = [...this.pending].map(([dataInfoId, version]) => ({ dataInfoId, version }));
    this.pending = new Map();
    return out;
  }
}
