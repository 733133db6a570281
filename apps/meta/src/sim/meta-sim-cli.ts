/**
 * The meta simulation from the command line:
 *   node tools/scripts/run-ts.cjs apps/meta/src/sim/meta-sim-cli.ts --seeds 500 --from 1
 *   node tools/scripts/run-ts.cjs apps/meta/src/sim/meta-sim-cli.ts --seed 42 --verbose
 * Ends with `meta-sim: N seeds, V violations`; exits 1 if V > 0.
 */
import { runMetaSimulation } from './meta-simulation';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const verbose = process.argv.includes('--verbose');
const one = arg('seed');
const from = one !== undefined ? Number(one) : Number(arg('from') ?? 1);
const seeds = one !== undefined ? 1 : Number(arg('seeds') ?? 200);
let bad = 0;
for (let seed = from; seed < from + seeds; seed++) {
  const r = runMetaSimulation({ seed, trace: verbose });
  if (verbose) for (const line of r.trace) console.log(line);
  if (r.violations.length > 0 || one !== undefined) {
    console.log(`seed ${seed} (${r.config}) ${JSON.stringify(r.stats)}`);
    for (const v of r.violations) console.log(`  VIOLATION ${v}`);
  }
  if (r.violations.length > 0) bad++;
}
console.log(`meta-sim: ${seeds} seeds, ${bad} violations`);
process.exit(bad > 0 ? 1 : 0);
