import type { SeededRandom } from '@sofareg/model';
import type { SimClock } from './sim-clock';

/** Network faults in force; a simulation changes them as it runs. */
export interface NetworkFaults {
  /** Probability that one leg (request or answer) is lost. */
  dropRate: number;
  /** Probability that one leg is delivered twice (each copy with its own delay, so copies may reorder). */
  duplicateRate: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Pairs `a|b` (either direction) that cannot talk. */
  cut: Set<string>;
}

/**
 * An in-memory network of messages and request/response calls between named nodes: each leg is delayed (so
 * messages reorder), may be dropped or duplicated, and is lost across a cut or to a node that is down. A caller
 * whose answer does not come within its timeout sees `undefined`, as with a real deadline. A node that crashes
 * and restarts gets a new incarnation: nothing addressed to, or answered for, the old one is delivered.
 */
export class SimNetwork {
  readonly faults: NetworkFaults = { dropRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 5, cut: new Set() };
  private readonly up = new Set<string>();
  private readonly incarnation = new Map<string, number>();

  constructor(
    private readonly clock: SimClock,
    private readonly rnd: SeededRandom,
  ) {}

  /** Brings `node` up (as a new incarnation) or takes it down. */
  setUp(node: string, up: boolean): void {
    if (up) {
      this.up.add(node);
      this.incarnation.set(node, (this.incarnation.get(node) ?? 0) + 1);
    } else this.up.delete(node);
  }

  isUp(node: string): boolean {
    return this.up.has(node);
  }

  /** Cuts (or heals) the link between `a` and `b`, both directions. */
  setCut(a: string, b: string, cut: boolean): void {
    if (cut) this.faults.cut.add(`${a}|${b}`);
    else {
      this.faults.cut.delete(`${a}|${b}`);
      this.faults.cut.delete(`${b}|${a}`);
    }
  }

  /** Whether `a` and `b` can talk (both up, no cut). */
  connected(a: string, b: string): boolean {
    return this.up.has(a) && this.up.has(b) && !this.blocked(a, b);
  }

  private blocked(a: string, b: string): boolean {
    return this.faults.cut.has(`${a}|${b}`) || this.faults.cut.has(`${b}|${a}`);
  }

  private leg(from: string, to: string, deliver: () => void): void {
    if (this.rnd.chance(this.faults.dropRate) || this.blocked(from, to)) return;
    const copies = this.rnd.chance(this.faults.duplicateRate) ? 2 : 1;
    const inc = this.incarnation.get(to);
    for (let i = 0; i < copies; i++) {
      this.clock.after(this.rnd.int(this.faults.minDelayMs, this.faults.maxDelayMs), () => {
        if (this.up.has(to) && this.incarnation.get(to) === inc) deliver();
      });
    }
  }

  /** A one-way message; lost if `from` is down. */
  send(from: string, to: string, deliver: () => void): void {
    if (this.up.has(from)) this.leg(from, to, deliver);
  }

  /**
   * A call: `handle` runs at `to` (once per delivered copy); `done` gets the first answer back, or `undefined`
   * once `timeoutMs` has passed. `done` is never called for a caller that crashed meanwhile.
   */
  call<T>(
    from: string,
    to: string,
    handle: () => T | undefined,
    done: (answer: T | undefined) => void,
    timeoutMs = 200,
  ): void {
    this.request<T | undefined>(from, to, (respond) => respond(handle()), done, timeoutMs);
  }

  /**
   * A call answered later: `handle` runs at `to` (once per delivered copy) and answers through `respond`
   * whenever it is ready (a server that waits before answering); otherwise as {@link SimNetwork.call}. An
   * answer from an incarnation of `to` that crashed meanwhile is not sent.
   */
  request<T>(
    from: string,
    to: string,
    handle: (respond: (answer: T) => void) => void,
    done: (answer: T | undefined) => void,
    timeoutMs = 200,
  ): void {
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
      const server = this.incarnation.get(to);
      handle((answer) => {
        if (this.up.has(to) && this.incarnation.get(to) === server) this.leg(to, from, () => finish(answer));
      });
    });
  }
}
