/**
 * `npm run sim:registry -- --seeds N --from S`: runs the registry simulation over seeds S..S+N-1 and ends with
 * `registry-sim: N seeds, V violations` (exit 1 when V > 0). `--seed X --verbose` replays one seed with its trace.
 */
import { Command } from 'commander';
import { runRegistrySim } from './registry-sim';

const program = new Command('registry-sim')
  .option('--seeds <n>', 'how many seeds', '1000')
  .option('--from <s>', 'first seed', '1')
  .option('--seed <x>', 'replay one seed')
  .option('--verbose', 'print the trace of each run')
  .parse(process.argv);
const opts = program.opts<{ seeds: string; from: string; seed?: string; verbose?: boolean }>();
const from = Number(opts.seed ?? opts.from);
const count = opts.seed !== undefined ? 1 : Number(opts.seeds);
if (!Number.isInteger(from) || !Number.isInteger(count) || count <= 0) {
  console.error('--seeds and --from (or --seed) must be integers, seeds > 0');
  process.exit(2);
}
async function main(): Promise<void> {
  let violations = 0;
  let failedSeeds = 0;
  const started = Date.now();
  for (let seed = from; seed < from + count; seed++) {
    const r = await runRegistrySim(seed, { verbose: opts.verbose });
    if (opts.verbose) for (const line of r.trace) console.log(line);
    if (r.violations.length > 0) {
      failedSeeds++;
      violations += r.violations.length;
      console.log(`seed ${seed}: ${r.violations.length} violations; first: ${r.violations[0]}`);
      if (opts.verbose) for (const v of r.violations) console.log(`  ${v}`);
    }
    const done = seed - from + 1;
    if (process.stderr.isTTY && (done % 50 === 0 || done === count)) {
      process.stderr.write(
        `\r${done}/${count} seeds, ${failedSeeds} failing, ${((Date.now() - started) / done).toFixed(1)} ms/seed`,
      );
      if (done === count) process.stderr.write('\n');
    }
  }
  console.log(`registry-sim: ${count} seeds, ${violations} violations`);
  process.exit(violations > 0 ? 1 : 0);
}
void main();
