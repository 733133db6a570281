import { SeededRandom } from '@sofareg/model';
import { EventQueue } from '@sofareg/raft/testing';

export { SeededRandom };

/** Virtual time: events run in time order (then scheduling order); nothing waits on the wall clock. */
export class SimClock {
  now = 0;
  private readonly queue = new EventQueue<() => void>();

  after(delayMs: number, run: () => void): void {
    this.queue.push(this.now + Math.max(0, delayMs), run);
  }

  /** Runs events until `untilMs` or until none are left; returns how many ran. */
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
}

/** Network faults in force. */
export interface NetworkFaults {
  dropRate: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Pairs `a|b` (either direction) that cannot talk. */
  cut: Set<string>;
}

/**
 * An in-memory network of request/response calls between named nodes: each leg is delayed (so calls
 * reorder), may be dropped, and is lost across a cut or to a node that is down. A caller whose answer does
 * not come within its timeout sees a failure, as with a real deadline.
 */
export class SimNetwork {
  readonly faults: NetworkFaults = { dropRate: 0, minDelayMs: 1, maxDelayMs: 5, cut: new Set() };
  private readonly up = new Set<string>();
  /** Incarnation per node: answers computed by a node that crashed since are never delivered. */
  private readonly incarnation = new Map<string, number>();

  constructor(private readonly clock: SimClock, private readonly rnd: SeededRandom) {}

  setUp(node: string, up: boolean): void {
    if (up) {
      this.up.add(node);
      this.incarnation.set(node, (this.incarnation.get(node) ?? 0) + 1);
    } else this.up.delete(node);
  }

  isUp(node: string): boolean {
    return this.up.has(node);
  }

  private blocked(a: string, b: string): boolean {
    return this.faults.cut.has(`${a}|${b}`) || this.faults.cut.has(`${b}|${a}`);
  }

  private leg(from: string, to: string, deliver: () => void): void {
    if (this.rnd.chance(this.faults.dropRate) || this.blocked(from, to)) return;
    const inc = this.incarnation.get(to);
    this.clock.after(this.rnd.int(this.faults.minDelayMs, this.faults.maxDelayMs), () => {
      if (this.up.has(to) && this.incarnation.get(to) === inc) deliver();
    });
  }

  /** One-way message. */
  send(from: string, to: string, deliver: () => void): void {
    if (this.up.has(from)) this.leg(from, to, deliver);
  }

  /** A call: `handle` runs at `to`; `done` gets its answer, or undefined on timeout. */
  call<T>(from: string, to: string, handle: () => T | undefined, done: (answer: T | undefined) => void, timeoutMs = 200): void {
    let settled = false;
    const inc = this.incarnation.get(from);
    const finish = (answer: T | undefined) => {
      if (settled || !this.up.has(from) || this.incarnation.get(from) !== inc) return;
      settled = true;
      done(answer);
    };
    this.clock.after(timeoutMs, () => finish(undefined));
    if (!this.up.has(from)) return;
    this.leg(from, to, () => {
      const answer = handle();
      this.leg(to, from, () => finish(answer));
    });
  }
}
