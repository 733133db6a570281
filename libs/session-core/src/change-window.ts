/** Settings of the adaptive batching of change notifications. */
export interface ChangeWindowOptions {
  /** Longest a change may wait to be merged with the next ones (the storm bound). */
  readonly maxDelayMs: number;
  /** The first merge delay once changes pile up; doubles while they keep piling up. */
  readonly stepMs: number;
  /** A change arriving this long (plus twice the current delay) after the last fetch finds the dataInfoId quiet. */
  readonly quietMs: number;
}

/** Defaults: merge at most 100 ms (SOFARegistry always waits 1 s + 0.5 s); quiet after 50 ms idle. */
export const DEFAULT_CHANGE_WINDOW: ChangeWindowOptions = Object.freeze({ maxDelayMs: 100, stepMs: 5, quietMs: 50 });

interface IdState {
  /** When the last fetch started. */
  lastAt: number;
  /** The current merge delay (0 when quiet). */
  delay: number;
  /** When the pending fetch is due; -1 when none is pending. */
  dueAt: number;
  /** A fetch is running. */
  busy: boolean;
  /** A change came while the fetch was running. */
  dirty: boolean;
  /** Changes merged into the pending fetch while it waited (a storm still going on). */
  waitedMerges: number;
  /** The same, for the fetch now running. */
  runningMerges: number;
}

/** What to do with a change notification. */
export type ChangeDecision =
  { readonly type: 'now' } | { readonly type: 'at'; readonly dueAt: number } | { readonly type: 'merged' };

/**
 * Adaptive batching of datum changes, per dataInfoId. At most one fetch per dataInfoId runs at a time: changes
 * that arrive during it are merged into one more fetch after it. While changes keep arriving during fetches
 * (they pile up faster than they are served: a storm), the next fetch waits a merge delay that starts at
 * `stepMs` and doubles per fetch up to `maxDelayMs`, so a storm becomes at most one fetch (and one push per
 * subscriber) per `maxDelayMs`. A fetch during which nothing arrived, and before which nothing was merged,
 * halves the delay; a change after `quietMs` of silence is fetched at once. Changes that arrive one at a time, each after the previous was
 * served, are never delayed. Pure: time is passed in; the caller runs the timers.
 */
export class ChangeWindow {
  private readonly ids = new Map<string, IdState>();
  /** Ids with a pending due time: what {@link takeDue} and {@link nextDue} look at. */
  private readonly due = new Set<string>();

  constructor(private readonly opts: ChangeWindowOptions = DEFAULT_CHANGE_WINDOW) {}

  /** dataInfoIds tracked (for metrics and tests). */
  get size(): number {
    return this.ids.size;
  }

  /**
   * A change of `id` at `now`. `now`: fetch it now (the caller must then call {@link started}); `at`: a fetch is
   * due at `dueAt` (collect it with {@link takeDue}); `merged`: a fetch is already pending or running.
   */
  change(id: string, now: number): ChangeDecision {
    let state = this.ids.get(id);
    if (!state) {
      state = { lastAt: -Infinity, delay: 0, dueAt: -1, busy: false, dirty: false, waitedMerges: 0, runningMerges: 0 };
      this.ids.set(id, state);
    }
    if (state.busy) {
      state.dirty = true;
      return { type: 'merged' };
    }
    if (state.dueAt >= 0) {
      state.waitedMerges++;
      return { type: 'merged' };
    }
    if (now - state.lastAt >= this.opts.quietMs + 2 * state.delay) state.delay = 0;
    return this.schedule(id, state, now);
  }

  private schedule(id: string, s: IdState, now: number): ChangeDecision {
    const dueAt = s.lastAt + s.delay;
    if (s.delay === 0 || dueAt <= now) return { type: 'now' };
    s.dueAt = dueAt;
    this.due.add(id);
    return { type: 'at', dueAt };
  }

  /** A fetch of `id` starts at `now` (after `now` or {@link takeDue}). */
  started(id: string, now: number): void {
    const state = this.ids.get(id);
    if (!state) return;
    state.busy = true;
    state.dirty = false;
    state.dueAt = -1;
    this.due.delete(id);
    state.lastAt = now;
    state.runningMerges = state.waitedMerges;
    state.waitedMerges = 0;
  }

  /** Ids whose fetch is due at `now`, marked started. */
  takeDue(now: number): string[] {
    const out: string[] = [];
    for (const id of this.due) {
      const state = this.ids.get(id);
      if (state && state.dueAt >= 0 && state.dueAt <= now && !state.busy) out.push(id);
    }
    for (const id of out) this.started(id, now);
    return out;
  }

  /** The earliest pending due time, or undefined. */
  nextDue(): number | undefined {
    let min: number | undefined;
    for (const id of this.due) {
      const state = this.ids.get(id);
      if (state && state.dueAt >= 0 && !state.busy && (min === undefined || state.dueAt < min)) min = state.dueAt;
    }
    return min;
  }

  /**
   * The fetch of `id` ended at `now`. If changes came meanwhile, returns the decision for the merged change
   * (as {@link change} would); else undefined.
   */
  finished(id: string, now: number): ChangeDecision | undefined {
    const state = this.ids.get(id);
    if (!state) return undefined;
    state.busy = false;
    if (!state.dirty) {
      // Nothing arrived during the fetch: relax, unless changes were still merging while it waited.
      if (state.runningMerges === 0) state.delay = state.delay <= this.opts.stepMs ? 0 : state.delay / 2;
      return undefined;
    }
    state.dirty = false;
    state.delay = Math.min(this.opts.maxDelayMs, Math.max(this.opts.stepMs, state.delay * 2));
    return this.schedule(id, state, now);
  }

  /** Forgets ids idle for longer than `maxDelayMs` + `quietMs` (nothing pending or running). */
  prune(now: number): void {
    const idle = this.opts.maxDelayMs * 2 + this.opts.quietMs;
    for (const [id, s] of this.ids) if (!s.busy && s.dueAt < 0 && now - s.lastAt > idle) this.ids.delete(id);
  }

  /** Forgets one id (it has no subscribers left). */
  forget(id: string): void {
    const state = this.ids.get(id);
    if (state && !state.busy) {
      this.ids.delete(id);
      this.due.delete(id);
    }
  }
}
