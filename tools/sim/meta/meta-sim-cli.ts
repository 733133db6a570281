import { Command } from 'commander';
import { runMetaSimulation } from './meta-simulation';

// Deterministic meta simulation on the shipped cores: `npm run sim:meta -- --seeds N --from S`, or
// `--seed X --verbose` to replay one with its trace. Ends with `meta-sim: N seeds, V violations`; exits 1 if V > 0.
const program = new Command()
  .name('sim:meta')
  .description('Runs seeded simulations of a meta cluster and its MetaClients under faults and checks the slot tables.')
  .option('--seeds <n>', 'number of seeds to run', (v) => parseInt(v, 10), 200)
  .option('--from <s>', 'first seed', (v) => parseInt(v, 10), 1)
  .option('--seed <x>', 'run this one seed only', (v) => parseInt(v, 10))
  .option('--verbose', 'print the event trace (with --seed)', false)
  .parse(process.argv);

const o = program.opts<{ seeds: number; from: number; seed?: number; verbose: boolean }>();
const from = o.seed ?? o.from;
const count = o.seed !== undefined ? 1 : o.seeds;
const started = performance.now();
let bad = 0;
for (let seed = from; seed < from + count; seed++) {
  const r = runMetaSimulation({ seed, trace: o.verbose });
  if (o.verbose) for (const line of r.trace) console.log(line);
  if (r.violations.length > 0 || o.seed !== undefined) {
    console.log(`seed ${seed} (${r.config}) ${JSON.stringify(r.stats)}`);
    for (const v of r.violations) console.log(`  VIOLATION ${v}`);
    if (r.violations.length > 0) console.log(`  replay: npm run sim:meta -- --seed ${seed} --verbose`);
  }
  if (r.violations.length > 0) bad++;
}
const seconds = ((performance.now() - started) / 1_000).toFixed(1);
console.log(`meta-sim: ${count} seeds from ${from} in ${seconds} s, ${bad} violations`);
process.exit(bad > 0 ? 1 : 0);
