/**
 * Collects what is sent to many sinks (connections) during one event-loop turn and hands each sink all of
 * its items at once when the turn ends: a loaded connection sends one frame per turn instead of one per
 * message, a quiet one still sends at once. Items of one sink keep their order. A delivery holds at most
 * `maxItems` items and, past its first item, at most `maxBytes` by `sizeOf`: a burst (a whole replay, pushes
 * of large datums) goes out as several frames, each within what the receiver accepts. Pure: the end of the
 * turn is the injected `schedule` (setImmediate in a process, an event queue in a simulation).
 */
export class TurnCoalescer<K, T> {
  private readonly pending = new Map<K, T[]>();
  private scheduled = false;
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private readonly sizeOf: (item: T) => number;

  /**
   * @param schedule runs its argument once the current turn is over.
   * @param deliver takes one sink's items, oldest first (never an empty list), one bounded frame at a time.
   * @param bounds of one delivery: `maxItems` (default 256) and `maxBytes` (default 4 MiB) by `sizeOf`
   *   (default: every item counts 0 bytes).
   */
  constructor(
    private readonly schedule: (run: () => void) => void,
    private readonly deliver: (sink: K, items: T[]) => void,
    bounds: { maxItems?: number; maxBytes?: number; sizeOf?: (item: T) => number } = {},
  ) {
    this.maxItems = bounds.maxItems ?? 256;
    this.maxBytes = bounds.maxBytes ?? 4 * 1024 * 1024;
    this.sizeOf = bounds.sizeOf ?? (() => 0);
  }

  /** Queues `item` for `sink`. */
  add(sink: K, item: T): void {
    const items = this.pending.get(sink);
    if (items) items.push(item);
    else this.pending.set(sink, [item]);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  /** Items queued for `sink` and not delivered yet. */
  queued(sink: K): number {
    return this.pending.get(sink)?.length ?? 0;
  }

  /** Delivers what is queued for `sink` now (before it closes, say). */
  flushSink(sink: K): void {
    const items = this.pending.get(sink);
    if (!items) return;
    this.pending.delete(sink);
    this.deliverBounded(sink, items);
  }

  /** Forgets what is queued for `sink` (it closed). */
  drop(sink: K): void {
    this.pending.delete(sink);
  }

  /** Delivers everything queued. */
  flush(): void {
    this.scheduled = false;
    // Deliveries may queue more (a sink's deliver sending elsewhere): those wait for the next turn.
    const all = [...this.pending];
    this.pending.clear();
    for (const [sink, items] of all) this.deliverBounded(sink, items);
  }

  private deliverBounded(sink: K, items: T[]): void {
    if (items.length <= this.maxItems && this.maxBytes === Infinity) return this.deliver(sink, items);
    let start = 0;
    while (start < items.length) {
      let end = start + 1;
      let bytes = this.sizeOf(items[start]);
      while (end < items.length && end - start < this.maxItems) {
        const b = this.sizeOf(items[end]);
        if (bytes + b > this.maxBytes) break;
        bytes += b;
        end++;
      }
      this.deliver(sink, start === 0 && end === items.length ? items : items.slice(start, end));
      start = end;
    }
  }
}
