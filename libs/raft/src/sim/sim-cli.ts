import { Command } from 'commander';
import { runSimulation } from './simulation';

// Deterministic Raft simulation: `npm run sim:raft -- --seeds N --from S`, or `--seed X --verbose` to replay one.
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

const o = program.opts<{ seeds: number; from: number; seed?: number; verbose: boolean; activeMs?: number; quietMs?: number }>();
const from = o.seed ?? o.from;
const count = o.seed !== undefined ? 1 : o.seeds;
const started = performance.now();
let violations = 0;
let linTimeouts = 0;
let lastPrint = started;
for (let i = 0; i < count; i++) {
  const seed = from + i;
  const r = runSimulation({ seed, trace: o.verbose, activeMs: o.activeMs, quietMs: o.quietMs });
  if (o.verbose) {
    for (const line of r.trace) console.log(line);
    console.log(`config: ${r.config}`);
    console.log(`stats: ${JSON.stringify(r.stats)}`);
  }
  if (r.linearizabilityTimeout) linTimeouts++;
  if (r.violations.length > 0) {
    violations++;
    console.log(`seed ${seed} FAILED (${r.config}); replay: npm run sim:raft -- --seed ${seed} --verbose`);
    for (const v of r.violations) console.log(`  ${v}`);
  }
  const now = performance.now();
  if (count > 1 && (now - lastPrint > 2000 || i === count - 1)) {
    lastPrint = now;
    const per = (now - started) / (i + 1);
    console.log(`  ${i + 1}/${count} seeds, ${violations} violations, ${per.toFixed(1)} ms/seed`);
  }
}
if (linTimeouts > 0) console.log(`note: ${linTimeouts} runs had a linearizability search that gave up (not counted)`);
console.log(`raft-sim: ${count} seeds, ${violations} violations`);
process.exitCode = violations > 0 ? 1 : 0;
