import { runSimulation } from './simulation';

// The CI batch of the deterministic Raft simulation. Each failing seed is printed with the command that
// replays it. RAFT_SIM_SEEDS / RAFT_SIM_FROM override the range (the default takes about 45 s of CPU here).
const SEEDS = Number(process.env.RAFT_SIM_SEEDS ?? 6000);
const FROM = Number(process.env.RAFT_SIM_FROM ?? 1);

describe('raft simulation', () => {
  it(`keeps safety and linearizability over seeds ${FROM}..${FROM + SEEDS - 1}`, () => {
    const failures: string[] = [];
    const started = performance.now();
    for (let seed = FROM; seed < FROM + SEEDS; seed++) {
      const r = runSimulation({ seed });
      if (r.violations.length > 0) {
        failures.push(`seed ${seed} (${r.config}); replay: npm run sim:raft -- --seed ${seed} --verbose\n  ${r.violations.join('\n  ')}`);
        if (failures.length >= 5) break;
      }
    }
    const ms = performance.now() - started;
    console.log(`raft-sim: ${SEEDS} seeds from ${FROM}, ${failures.length} failing, ${(ms / SEEDS).toFixed(1)} ms/seed`);
    if (failures.length > 0) throw new Error(`simulation violations:\n${failures.join('\n')}`);
  }, 600_000);
});
