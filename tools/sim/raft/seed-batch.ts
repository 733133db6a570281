import { type SimOptions, type SimResult, runSimulation } from './simulation';

/**
 * Largest share of seeds whose linearizability search may give up before a batch fails: a search that gives
 * up proves nothing, so many of them would hide violations.
 */
export const MAX_GIVE_UP_RATE = 0.01;

/** A failing seed, with the command that replays it. */
export interface FailedSeed {
  seed: number;
  config: string;
  violations: string[];
  replay: string;
}

/** What a batch of seeds found. */
export interface SeedBatch {
  seeds: number;
  failed: FailedSeed[];
  /** Seeds on which the linearizability search gave up. */
  gaveUp: number[];
  ms: number;
}

/** Options of {@link runSeeds}. */
export interface SeedBatchOptions extends Omit<SimOptions, 'seed'> {
  /** Stop after this many failing seeds. Default: run them all. */
  stopAfterFailures?: number;
  /** Called after each seed (for progress and traces). */
  onSeed?: (r: SimResult, done: number) => void;
}

/** Runs seeds `from` .. `from + count - 1` of the Raft simulation. */
export function runSeeds(from: number, count: number, opts: SeedBatchOptions = {}): SeedBatch {
  const { stopAfterFailures = Infinity, onSeed, ...sim } = opts;
  const started = performance.now();
  const batch: SeedBatch = { seeds: 0, failed: [], gaveUp: [], ms: 0 };
  for (let seed = from; seed < from + count && batch.failed.length < stopAfterFailures; seed++) {
    const r = runSimulation({ ...sim, seed });
    batch.seeds++;
    if (r.linearizabilityGaveUp) batch.gaveUp.push(seed);
    if (r.violations.length > 0) {
      const replay = `npm run sim:raft -- --seed ${seed} --verbose`;
      batch.failed.push({ seed, config: r.config, violations: r.violations, replay });
    }
    onSeed?.(r, batch.seeds);
  }
  batch.ms = performance.now() - started;
  return batch;
}

/** Whether the batch's give-ups exceed {@link MAX_GIVE_UP_RATE}. */
export function tooManyGiveUps(b: SeedBatch): boolean {
  return b.gaveUp.length > b.seeds * MAX_GIVE_UP_RATE;
}

/** The totals line of a batch: seeds, failing seeds, give-ups (and their rate), time per seed. */
export function batchSummary(b: SeedBatch): string {
  const rate = ((100 * b.gaveUp.length) / Math.max(1, b.seeds)).toFixed(2);
  const perSeed = (b.ms / Math.max(1, b.seeds)).toFixed(1);
  return (
    `raft-sim: ${b.seeds} seeds, ${b.failed.length} with violations, ` +
    `${b.gaveUp.length} linearizability give-ups (${rate}%), ${perSeed} ms/seed`
  );
}

/** One paragraph per failing seed (its configuration, violations and replay command), then the totals. */
export function describeBatch(b: SeedBatch): string {
  const lines = b.failed.map(
    (f) => `seed ${f.seed} (${f.config}); replay: ${f.replay}\n  ${f.violations.join('\n  ')}`,
  );
  return [...lines, batchSummary(b)].join('\n');
}
