import { runMetaSimulation } from './meta-simulation';

/**
 * The CI batch of the meta simulation: META_SIM_SEEDS seeds (default 1000) from META_SIM_FROM (default 1).
 * A failing seed is printed with the command that replays it with its trace.
 */
const SEEDS = Number(process.env.META_SIM_SEEDS ?? 1000);
const FROM = Number(process.env.META_SIM_FROM ?? 1);

describe('meta simulation (real Raft, meta and MetaClient cores; servers come and go, metas crash, partitions)', () => {
  it(`keeps tables committed, valid, never older; converges after calm; ${SEEDS} seeds from ${FROM}`, () => {
    const failures: string[] = [];
    const totals = {
      elections: 0,
      metaCrashes: 0,
      partitions: 0,
      kills: 0,
      evictions: 0,
      tables: 0,
      tablesReceived: 0,
    };
    for (let seed = FROM; seed < FROM + SEEDS; seed++) {
      const r = runMetaSimulation({ seed });
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r.stats[k];
      if (r.violations.length > 0) {
        const replay = `npm run sim:meta -- --seed ${seed} --verbose`;
        failures.push(`seed ${seed} (${r.config}):\n  ${r.violations.slice(0, 5).join('\n  ')}\n  replay: ${replay}`);
      }
    }
    console.log(`meta-sim: ${SEEDS} seeds from ${FROM}, ${failures.length} failing; ${JSON.stringify(totals)}`);
    expect(failures.slice(0, 5)).toEqual([]);
    expect(totals.tables).toBeGreaterThan(SEEDS);
  }, 600_000);

  it('is deterministic: a seed replays to the same run', () => {
    const a = runMetaSimulation({ seed: 7, trace: true });
    const b = runMetaSimulation({ seed: 7, trace: true });
    expect(b.trace).toEqual(a.trace);
    expect(b.stats).toEqual(a.stats);
    expect(a.stats.tables).toBeGreaterThan(0);
  });
});
