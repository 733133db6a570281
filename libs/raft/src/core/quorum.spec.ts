import { VoteResult, hasQuorum, majorityCommitIndex, voteResult } from './quorum';
import { SeededRandom } from './random';

/** Naive oracle: the largest k such that a majority of voters have match ≥ k (brute force over candidates). */
function naiveCommit(voters: string[], match: Map<string, number>): number {
  if (voters.length === 0) return 0;
  const q = Math.floor(voters.length / 2) + 1;
  let best = 0;
  const candidates = new Set<number>([0, ...voters.map((v) => match.get(v) ?? 0)]);
  for (const k of candidates) {
    const c = voters.filter((v) => (match.get(v) ?? 0) >= k).length;
    if (c >= q && k > best) best = k;
  }
  return best;
}

/** Naive oracle: enumerate every way the missing votes could go. */
function naiveVote(voters: string[], votes: Map<string, boolean>): VoteResult {
  if (voters.length === 0) return VoteResult.Won;
  const q = Math.floor(voters.length / 2) + 1;
  const missing = voters.filter((v) => !votes.has(v));
  let canWin = false;
  let canLose = false;
  for (let mask = 0; mask < 1 << missing.length; mask++) {
    let yes = voters.filter((v) => votes.get(v) === true).length;
    for (let i = 0; i < missing.length; i++) if (mask & (1 << i)) yes++;
    if (yes >= q) canWin = true;
    else canLose = true;
  }
  if (canWin && !canLose) return VoteResult.Won;
  if (!canWin) return VoteResult.Lost;
  return VoteResult.Pending;
}

const SEED = Number(process.env.RAFT_ORACLE_SEED ?? 20261126);

describe(`quorum against a naive oracle (seed ${SEED})`, () => {
  it('majorityCommitIndex matches the oracle on 50,000 random inputs', () => {
    const rnd = new SeededRandom(SEED);
    for (let iter = 0; iter < 50_000; iter++) {
      const n = rnd.below(8);
      const voters = Array.from({ length: n }, (_, i) => `n${i}`);
      const match = new Map<string, number>();
      for (const v of voters) if (rnd.chance(0.9)) match.set(v, rnd.below(rnd.chance(0.5) ? 5 : 1000));
      // Non-voters' progress must not count.
      match.set('outsider', 1_000_000);
      const got = majorityCommitIndex(voters, (id) => match.get(id));
      const want = naiveCommit(voters, match);
      if (got !== want)
        throw new Error(
          `seed ${SEED} iter ${iter}: voters=${voters} match=${JSON.stringify([...match])} got ${got} want ${want}`,
        );
    }
  });

  it('voteResult matches the oracle on 50,000 random inputs', () => {
    const rnd = new SeededRandom(SEED + 1);
    for (let iter = 0; iter < 50_000; iter++) {
      const n = rnd.below(8);
      const voters = Array.from({ length: n }, (_, i) => `n${i}`);
      const votes = new Map<string, boolean>();
      for (const v of voters) {
        const r = rnd.below(3);
        if (r === 1) votes.set(v, true);
        else if (r === 2) votes.set(v, false);
      }
      votes.set('outsider', true);
      const got = voteResult(voters, votes);
      const want = naiveVote(voters, votes);
      if (got !== want)
        throw new Error(`seed ${SEED} iter ${iter}: votes=${JSON.stringify([...votes])} got ${got} want ${want}`);
    }
  });

  it('hasQuorum matches counting on 20,000 random inputs', () => {
    const rnd = new SeededRandom(SEED + 2);
    for (let iter = 0; iter < 20_000; iter++) {
      const n = rnd.below(8);
      const voters = Array.from({ length: n }, (_, i) => `n${i}`);
      const active = new Set(voters.filter(() => rnd.chance(0.5)));
      const want = n === 0 || active.size > n / 2;
      expect(hasQuorum(voters, (id) => active.has(id))).toBe(want);
    }
  });
});
