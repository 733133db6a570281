import { PLANTED_BUGS, type PlantedBug } from './planted-bugs';
import { runSeeds } from './seed-batch';
import { runSimulation } from './simulation';

// Proof that the Raft simulation can fail: each known bug, planted in the real core for the duration of one test,
// must be reported within SEEDS seeds (the swarm's fault mix and its leader hits make the figure-8 case of the
// commit rule show up in a few percent of the seeds). The seed that caught it must pass on the real core.
const SEEDS = 300;

function firstCatch(bug: PlantedBug): { seed: number; violation: string } | undefined {
  const restore = bug.plant();
  try {
    const batch = runSeeds(1, SEEDS, { stopAfterFailures: 1 });
    const f = batch.failed[0];
    return f && { seed: f.seed, violation: f.violations[0] };
  } finally {
    restore();
  }
}

describe('planted bugs are found by the raft simulation', () => {
  it.each(PLANTED_BUGS.map((b) => [b.name, b] as const))('%s', (_name, bug) => {
    const caught = firstCatch(bug);
    expect(caught).toBeDefined();
    const { seed, violation } = caught as { seed: number; violation: string };
    console.log(`${bug.name}: caught on seed ${seed}: ${violation.split('\n')[0]}`);
    expect(runSimulation({ seed }).violations).toEqual([]);
  });
});
