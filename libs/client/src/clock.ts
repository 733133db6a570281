/**
 * Time as the client sees it. Injected so that tests drive timers by hand (see `ManualClock` in
 * `@sofareg/client/testing`); the default is the process clock.
 */
export interface Clock {
  /** Milliseconds since the epoch (or any fixed origin: only differences matter). */
  now(): number;
  /** Runs `fn` once after `ms`; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer; a handle that already fired or is undefined is ignored. */
  clearTimeout(handle: unknown): void;
}

/** The process clock: `Date.now()` and Node timers. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (handle: unknown) => {
    if (handle !== undefined) clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});
