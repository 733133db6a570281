import type { Publisher } from '@sofareg/contracts';
import { slotOf } from '@sofareg/consistent-hash';

/**
 * A session's publishers grouped by slot and dataInfoId (with an empty list for a dataInfoId it only has
 * subscribers of), as of one instant (`at`). Built in one pass and
 * reused for `maxAgeMs`, so that a data server paging through many slots costs one scan, not one per page.
 */
export class SlotIndex {
  private built: { at: number; slotCount: number; bySlot: Map<number, Map<string, Publisher[]>> } | undefined;

  constructor(
    private readonly publishers: () => Iterable<Publisher>,
    private readonly subscribed: () => Iterable<string>,
    private readonly maxAgeMs: number,
  ) {}

  /** The index for `slotCount`, rebuilt when older than the bound (or `fresh`). `at` is the instant it reflects. */
  get(
    slotCount: number,
    nowMs: number,
    fresh = false,
    maxAgeMs = this.maxAgeMs,
  ): { at: number; bySlot: Map<number, Map<string, Publisher[]>> } {
    const b = this.built;
    if (!fresh && b && b.slotCount === slotCount && nowMs - b.at <= maxAgeMs) return b;
    const bySlot = new Map<number, Map<string, Publisher[]>>();
    const slotCache = new Map<string, number>();
    for (const p of this.publishers()) {
      let slot = slotCache.get(p.dataInfoId);
      if (slot === undefined) {
        slot = slotOf(p.dataInfoId, slotCount);
        slotCache.set(p.dataInfoId, slot);
      }
      let byId = bySlot.get(slot);
      if (!byId) bySlot.set(slot, (byId = new Map()));
      let list = byId.get(p.dataInfoId);
      if (!list) byId.set(p.dataInfoId, (list = []));
      list.push(p);
    }
    // dataInfoIds with subscribers but no publisher here still belong in pages: the versions this session
    // has pushed for them must reach a new slot leader.
    for (const id of this.subscribed()) {
      const slot = slotCache.get(id) ?? slotOf(id, slotCount);
      let byId = bySlot.get(slot);
      if (!byId) bySlot.set(slot, (byId = new Map()));
      if (!byId.has(id)) byId.set(id, []);
    }
    this.built = { at: nowMs, slotCount, bySlot };
    return this.built;
  }
}
