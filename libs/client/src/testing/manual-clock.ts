import type { Clock } from '../clock';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A clock that moves only when told: `advance(ms)` runs every timer due by then, in time order (ties in
 * creation order), including timers those timers set. Deterministic; for unit tests.
 */
export class ManualClock implements Clock {
  private time: number;
  private nextId = 1;
  private timers: Timer[] = [];

  constructor(start = 1_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer: Timer = { id: this.nextId++, at: this.time + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Timers not yet run, soonest first: `[{in: ms from now}]`. */
  pending(): { in: number }[] {
    return this.sorted().map((t) => ({ in: t.at - this.time }));
  }

  /** Moves time forward by `ms`, running due timers. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.sorted()[0];
      if (!next || next.at > end) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = next.at;
      next.fn();
    }
    this.time = end;
  }

  /** Runs the next timer (moving time to it); returns false when none is pending. */
  runNext(): boolean {
    const next = this.sorted()[0];
    if (!next) return false;
    this.advance(next.at - this.time);
    return true;
  }

  private sorted(): Timer[] {
    return [...this.timers].sort((a, b) => a.at - b.at || a.id - b.id);
  }
}

/** A seeded PRNG (mulberry32) returning numbers in [0, 1). Same seed, same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Counter-based ids (`prefix-1`, `prefix-2`, …) to replace random UUIDs in tests. */
export function sequentialIds(prefix = 'reg'): () => string {
  let n = 0;
  return () => `${prefix}-${++n}`;
}
