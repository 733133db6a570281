import { NodeId } from './types';

/** Outcome of counting votes. */
export enum VoteResult {
  Pending = 'Pending',
  Lost = 'Lost',
  Won = 'Won',
}

/**
 * The largest index that a majority of `voters` have acknowledged, given each voter's match index (missing
 * voters count as 0). Returns 0 for an empty voter set.
 */
export function majorityCommitIndex(voters: readonly NodeId[], match: (id: NodeId) => number | undefined): number {
  const n = voters.length;
  if (n === 0) return 0;
  const xs = new Array<number>(n);
  for (let i = 0; i < n; i++) xs[i] = match(voters[i]) ?? 0;
  xs.sort((a, b) => b - a);
  return xs[Math.floor(n / 2)];
}

/**
 * Whether a majority of `voters` granted (`true`) their vote, a majority refused (so winning is impossible),
 * or neither yet. Votes from non-voters are ignored. An empty voter set wins (nothing to ask).
 */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const n = voters.length;
  if (n === 0) return VoteResult.Won;
  const q = Math.floor(n / 2) + 1;
  let yes = 0;
  let no = 0;
  for (const v of voters) {
    const g = votes.get(v);
    if (g === true) yes++;
    else if (g === false) no++;
  }
  if (yes >= q) return VoteResult.Won;
  if (n - no < q) return VoteResult.Lost;
  return VoteResult.Pending;
}

/** True when the nodes in `active` include a majority of `voters`. */
export function hasQuorum(voters: readonly NodeId[], active: (id: NodeId) => boolean): boolean {
  if (voters.length === 0) return true;
  let c = 0;
  for (const v of voters) if (active(v)) c++;
  return c >= Math.floor(voters.length / 2) + 1;
}
