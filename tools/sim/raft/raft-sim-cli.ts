import { Command } from 'commander';
import { MAX_GIVE_UP_RATE, batchSummary, runSeeds, tooManyGiveUps } from './seed-batch';

// Deterministic Raft simulation: `npm run sim:raft -- --seeds N --from S`, or `--seed X --verbose` to replay one.
// Exits 1 on any violation, or when more than MAX_GIVE_UP_RATE of the seeds' linearizability searches gave up.
const program = new Command()
  .name('sim:raft')
  .description('Runs seeded simulations of a Raft cluster under faults and checks safety and linearizability.')
  .option('--seeds <n>', 'number of seeds to run', (v) => parseInt(v, 10), 100)
  .option('--from <s>', 'first seed', (v) => parseInt(v, 10), 1)
  .option('--seed <x>', 'run this one seed only', (v) => parseInt(v, 10))
  .option('--verbose', 'print the event trace (with --seed)', false)
  .option('--active-ms <ms>', 'virtual ms of faults and load per run', (v) => parseInt(v, 10))
  .option('--quiet-ms <ms>', 'virtual ms of calm before the final checks', (v) => parseInt(v, 10))
  .parse(process.argv);

interface CliOptions {
  seeds: number;
  from: number;
  seed?: number;
  verbose: boolean;
  activeMs?: number;
  quietMs?: number;
}
const opts = program.opts<CliOptions>();
const from = opts.seed ?? opts.from;
const count = opts.seed !== undefined ? 1 : opts.seeds;
let lastPrint = performance.now();
let failing = 0;
const batch = runSeeds(from, count, {
  trace: opts.verbose,
  activeMs: opts.activeMs,
  quietMs: opts.quietMs,
  onSeed: (r, done) => {
    if (opts.verbose) {
      for (const line of r.trace) console.log(line);
      console.log(`config: ${r.config}`);
      console.log(`stats: ${JSON.stringify(r.stats)}`);
    }
    if (r.violations.length > 0) {
      failing++;
      console.log(`seed ${r.seed} FAILED (${r.config}); replay: npm run sim:raft -- --seed ${r.seed} --verbose`);
      for (const v of r.violations) console.log(`  ${v}`);
    }
    const now = performance.now();
    if (count > 1 && now - lastPrint > 2000) {
      lastPrint = now;
      console.log(`  ${done}/${count} seeds, ${failing} failing`);
    }
  },
});
if (batch.gaveUp.length > 0) console.log(`linearizability search gave up on seeds ${batch.gaveUp.join(', ')}`);
console.log(batchSummary(batch));
if (tooManyGiveUps(batch)) console.log(`FAILED: more than ${MAX_GIVE_UP_RATE * 100}% of the seeds gave up`);
process.exitCode = batch.failed.length > 0 || tooManyGiveUps(batch) ? 1 : 0;
