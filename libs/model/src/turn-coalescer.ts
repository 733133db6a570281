/**
 * Collects what is sent to many sinks (connections) during one event-loop turn and hands each sink all of
 * its items at once when the turn ends: a loaded connection sends one frame per turn instead of one per
 * message, a quiet one still sends at once. Items of one sink keep their order. Pure: the end of the turn
 * is the injected `schedule` (setImmediate in a process, an event queue in a simulation).
 */
export class TurnCoalescer<K, T> {
  private readonly pending = new Map<K, T[]>();
  private scheduled = false;

  /**
   * @param schedule runs its argument once the current turn is over.
   * @param deliver takes one sink's items, oldest first (never an empty list).
   */
  constructor(
    private readonly schedule: (run: () => void) => void,
    private readonly deliver: (sink: K, items: T[]) => void,
  ) {}

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
    this.deliver(sink, items);
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
    for (const [sink, items] of all) this.deliver(sink, items);
  }
}
