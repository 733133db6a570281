import { EventQueue } from './event-queue';

/**
 * Virtual time for a simulation: events run in time order (then in the order they were scheduled), and nothing
 * waits on the wall clock, so a run is a pure function of its seed.
 */
export class SimClock {
  /** Virtual milliseconds since the run began. */
  now = 0;
  private readonly queue = new EventQueue<() => void>();

  /** Pending events. */
  get pending(): number {
    return this.queue.size;
  }

  /** Runs `run` `delayMs` from now (a negative delay counts as 0). */
  after(delayMs: number, run: () => void): void {
    this.queue.push(this.now + Math.max(0, delayMs), run);
  }

  /** Runs `run` at virtual time `atMs` (or now, if that has passed). */
  at(atMs: number, run: () => void): void {
    this.queue.push(Math.max(this.now, atMs), run);
  }

  /**
   * Runs events until `untilMs` or until none are left, then sets the clock to `untilMs`; returns how many ran.
   * More than `maxEvents` events before `untilMs` is a runaway loop and throws.
   */
  runUntil(untilMs: number, maxEvents = 5_000_000): number {
    let n = 0;
    for (let at = this.queue.peekAt(); at !== undefined && at <= untilMs; at = this.queue.peekAt()) {
      if (++n > maxEvents) throw new Error(`more than ${maxEvents} events before ${untilMs} ms: runaway loop`);
      const e = this.queue.pop() as { at: number; ev: () => void };
      this.now = e.at;
      e.ev();
    }
    this.now = Math.max(this.now, untilMs);
    return n;
  }

  /**
   * The simulation's one way to wait: runs events until `condition()` holds (checked before each event) or
   * virtual time passes `deadlineMs`. Returns whether the condition held; the clock stops where it held.
   */
  waitFor(condition: () => boolean, deadlineMs: number, maxEvents = 5_000_000): boolean {
    let n = 0;
    for (;;) {
      if (condition()) return true;
      const at = this.queue.peekAt();
      if (at === undefined || at > deadlineMs) {
        this.now = Math.max(this.now, deadlineMs);
        return condition();
      }
      if (++n > maxEvents) throw new Error(`more than ${maxEvents} events before ${deadlineMs} ms: runaway loop`);
      const e = this.queue.pop() as { at: number; ev: () => void };
      this.now = e.at;
      e.ev();
    }
  }
}
