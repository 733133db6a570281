import { describeBatch, runSeeds, tooManyGiveUps } from './seed-batch';

// The CI batch of the deterministic Raft simulation on the unplanted core. Each failing seed is printed with the
// command that replays it. RAFT_SIM_SEEDS / RAFT_SIM_FROM override the range; `npm run sim:raft -- --seeds 5000`
// runs a longer batch.
const SEEDS = Number(process.env.RAFT_SIM_SEEDS ?? 2000);
const FROM = Number(process.env.RAFT_SIM_FROM ?? 1);

describe('raft simulation', () => {
  it(`keeps safety and linearizability over seeds ${FROM}..${FROM + SEEDS - 1}`, () => {
    const batch = runSeeds(FROM, SEEDS, { stopAfterFailures: 5 });
    console.log(describeBatch(batch));
    expect(batch.failed.map((f) => f.seed)).toEqual([]);
    expect(tooManyGiveUps(batch)).toBe(false);
  }, 600_000);
});
