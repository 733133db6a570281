import { runRegistrySim } from './registry-sim';

/**
 * The registry's deterministic simulation in CI: a batch of seeds, each replayable with
 * `npm run sim:registry -- --seed N --verbose`. REGISTRY_SIM_SEEDS / REGISTRY_SIM_FROM override the batch.
 */
const SEEDS = Number(process.env.REGISTRY_SIM_SEEDS ?? 1000);
const FROM = Number(process.env.REGISTRY_SIM_FROM ?? 1);

describe('registry deterministic simulation', () => {
  it(`holds every invariant over ${SEEDS} seeds from ${FROM}`, async () => {
    const failed: string[] = [];
    for (let seed = FROM; seed < FROM + SEEDS; seed++) {
      const r = await runRegistrySim(seed);
      if (r.violations.length > 0)
        failed.push(`seed ${seed}: ${r.violations[0]} (replay: npm run sim:registry -- --seed ${seed} --verbose)`);
    }
    expect(failed.slice(0, 5)).toEqual([]);
  }, 600_000);

  it('is deterministic: a seed replays to the same run', async () => {
    const a = await runRegistrySim(42, { verbose: true });
    const b = await runRegistrySim(42, { verbose: true });
    expect(b.trace).toEqual(a.trace);
    expect(b.events).toBe(a.events);
  });
});
