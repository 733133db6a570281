import {
  type ArrangeOptions,
  type SlotReplica,
  type SlotTable,
  followerLevel,
  leaderEligibility,
  normalizeLive,
  validateOptions,
  validatePrev,
} from './slot-table';

/**
 * Computes the next slot table from the previous one and the live data servers. Pure and deterministic:
 * the result depends only on the arguments (`live` is sorted and de-duplicated first).
 *
 * Returns `prev` itself (the same object) when nothing needs to change; otherwise a new, deeply frozen
 * table with `epoch = prev.epoch + 1` (or 1 without `prev`). The result:
 * - gives every slot a leader while any server is live, and `min(replicas, live.length) - 1` followers,
 *   all distinct;
 * - balances leaders: each ready server leads floor or ceil of its share (see `leaderEligibility` for who
 *   is ready; a not-ready server leads only slots it was promoted to by failover);
 * - balances followers: each server follows floor or ceil of `slotCount * (replicas - 1) / live.length`,
 *   unless it leads so much that it has no room (see `followerLevel`);
 * - moves little: a dead leader's slot is taken by one of its live followers (the one with fewest
 *   leaderships), leaderships move by swapping a leader with one of its followers (no data to copy), and a
 *   follower replica moves only from a server above its share to one below it;
 * - bumps a slot's `leaderEpoch` (to the new table's epoch) exactly when its leader changes.
 *
 * A joining server first receives follower replicas only; it takes leaderships in a later table, once it
 * is ready (in `opts.caughtUp`, or has followed for one table when `caughtUp` is not given).
 *
 * Cost: O(slotCount × replicas × moves) in the worst case, about a millisecond for 256 slots.
 * @throws ConsistentHashError `INVALID_SLOT_COUNT`, `INVALID_REPLICAS`, `INVALID_LIVE` or `INVALID_PREV`
 *   (which includes a `prev.slotCount` different from `opts.slotCount`).
 */
export function arrange(prev: SlotTable | undefined, live: readonly string[], opts: ArrangeOptions): SlotTable {
  validateOptions(opts);
  if (prev !== undefined) validatePrev(prev, opts.slotCount);
  const servers = normalizeLive(live);
  const work = new Arrangement(prev, servers, opts);
  work.run();
  return work.result();
}

const NONE = -1;

/** The mutable working state of one `arrange` call, on server indexes (positions in the sorted live list). */
class Arrangement {
  private readonly S: number;
  private readonly N: number;
  /** Followers per slot: `min(replicas, N) - 1`. */
  private readonly want: number;
  private readonly leader: Int32Array;
  private readonly fol: number[][];
  /** Leaderships per server. */
  private readonly L: Int32Array;
  /** Follower replicas per server. */
  private readonly F: Int32Array;
  /** Slots each server follows. */
  private readonly follows: Set<number>[];
  /** pair[a * N + b]: slots led by a and followed by b, to spread a leader's followers over the others. */
  private readonly pair: Int32Array;
  /** Ready to take leaderships by balancing. */
  private readonly ready: boolean[];
  private readonly tL: Int32Array;
  private readonly tF: Int32Array;

  constructor(
    private readonly prev: SlotTable | undefined,
    private readonly servers: readonly string[],
    private readonly opts: ArrangeOptions,
  ) {
    const S = (this.S = opts.slotCount);
    const N = (this.N = servers.length);
    this.want = Math.max(0, Math.min(opts.replicas, N) - 1);
    this.leader = new Int32Array(S).fill(NONE);
    this.fol = Array.from({ length: S }, () => []);
    this.L = new Int32Array(N);
    this.F = new Int32Array(N);
    this.follows = Array.from({ length: N }, () => new Set<number>());
    this.pair = new Int32Array(N * N);
    this.tL = new Int32Array(N);
    this.tF = new Int32Array(N);
    this.ready = leaderEligibility(prev, servers, opts.replicas, opts.caughtUp);
    if (!prev) return;
    const index = new Map(servers.map((s, i) => [s, i]));
    for (let k = 0; k < S; k++) {
      const slot = prev.slots[k];
      const l = slot.leader === '' ? undefined : index.get(slot.leader);
      if (l !== undefined) this.setLeader(k, l);
      for (const f of slot.followers) {
        const i = index.get(f);
        if (i !== undefined && !this.holds(i, k)) this.addFollower(k, i);
      }
    }
  }

  run(): void {
    if (this.N === 0) return;
    this.failover();
    this.balanceLeaders();
    this.balanceFollowers();
  }

  // ---- bookkeeping -------------------------------------------------------------------------------

  private holds(i: number, k: number): boolean {
    return this.leader[k] === i || this.fol[k].includes(i);
  }

  private setLeader(k: number, i: number): void {
    const old = this.leader[k];
    if (old !== NONE) {
      this.L[old]--;
      for (const f of this.fol[k]) this.pair[old * this.N + f]--;
    }
    this.leader[k] = i;
    this.L[i]++;
    for (const f of this.fol[k]) this.pair[i * this.N + f]++;
  }

  private addFollower(k: number, i: number): void {
    this.fol[k].push(i);
    this.F[i]++;
    this.follows[i].add(k);
    if (this.leader[k] !== NONE) this.pair[this.leader[k] * this.N + i]++;
  }

  private removeFollower(k: number, i: number): void {
    const list = this.fol[k];
    list.splice(list.indexOf(i), 1);
    this.F[i]--;
    this.follows[i].delete(k);
    if (this.leader[k] !== NONE) this.pair[this.leader[k] * this.N + i]--;
  }

  /** Follower `b` of slot `k` becomes its leader; the old leader becomes a follower. No data moves. */
  private swap(k: number, b: number): void {
    const a = this.leader[k];
    this.removeFollower(k, b);
    this.setLeader(k, b);
    this.addFollower(k, a);
  }

  // ---- 1. failover ---------------------------------------------------------------------------------

  /** Every slot without a live leader gets one: a live follower first, else the least loaded ready server. */
  private failover(): void {
    const { L, F, ready } = this;
    for (let k = 0; k < this.S; k++) {
      if (this.leader[k] !== NONE) continue;
      let best = NONE;
      for (const f of this.fol[k]) {
        if (best === NONE || better(f, best)) best = f;
      }
      if (best !== NONE) {
        this.removeFollower(k, best);
        this.setLeader(k, best);
        continue;
      }
      for (let i = 0; i < this.N; i++) {
        if (!ready[i]) continue;
        if (best === NONE || L[i] < L[best] || (L[i] === L[best] && L[i] + F[i] < L[best] + F[best])) best = i;
      }
      this.setLeader(k, best);
    }
    // Among a slot's followers prefer a ready one, then the one leading least, then the first.
    function better(a: number, b: number): boolean {
      if (ready[a] !== ready[b]) return ready[a];
      if (L[a] !== L[b]) return L[a] < L[b];
      return a < b;
    }
  }

  // ---- 2. leaders ----------------------------------------------------------------------------------

  /**
   * Leader targets: ready servers share the slots not held by not-ready servers (those were forced on them
   * by failover), floor or ceil each; the ceil goes to those leading most now (then holding most).
   */
  private leaderTargets(): void {
    const { L, F, ready, tL } = this;
    const pool: number[] = [];
    let rest = this.S;
    for (let i = 0; i < this.N; i++) {
      if (ready[i]) pool.push(i);
      else {
        tL[i] = L[i];
        rest -= L[i];
      }
    }
    pool.sort((a, b) => L[b] - L[a] || L[b] + F[b] - (L[a] + F[a]) || a - b);
    const base = Math.floor(rest / pool.length);
    const extra = rest % pool.length;
    pool.forEach((i, rank) => (tL[i] = base + (rank < extra ? 1 : 0)));
  }

  private balanceLeaders(): void {
    this.leaderTargets();
    const { L, tL } = this;
    for (let u = 0; u < this.N; u++) {
      while (L[u] < tL[u]) {
        if (!this.promoteAlongPath(u)) this.moveLeaderTo(u);
      }
    }
  }

  /**
   * Finds the shortest chain over → … → u where each server leads a slot the next one follows, and swaps
   * along it: the over-loaded server loses one leadership, `u` gains one, nobody copies data.
   */
  private promoteAlongPath(u: number): boolean {
    const { L, tL, ready } = this;
    const viaSlot = new Int32Array(this.N).fill(NONE);
    const prevOf = new Int32Array(this.N).fill(NONE);
    const seen = new Uint8Array(this.N);
    seen[u] = 1;
    const queue = [u];
    for (let head = 0; head < queue.length; head++) {
      const b = queue[head];
      for (const k of this.follows[b]) {
        const a = this.leader[k];
        if (seen[a]) continue;
        seen[a] = 1;
        viaSlot[a] = k;
        prevOf[a] = b;
        if (L[a] > tL[a]) {
          // a hands slot viaSlot[a] to the follower that found it, which hands on, until u.
          for (let node = a; node !== u; node = prevOf[node]) this.swap(viaSlot[node], prevOf[node]);
          return true;
        }
        if (ready[a]) queue.push(a);
      }
    }
    return false;
  }

  /** No follower chain reaches `u`: hand it a slot of the most over-loaded server directly (one copy). */
  private moveLeaderTo(u: number): void {
    const { L, tL } = this;
    let o = NONE;
    for (let i = 0; i < this.N; i++) {
      if (L[i] > tL[i] && (o === NONE || L[i] - tL[i] > L[o] - tL[o])) o = i;
    }
    for (let k = 0; k < this.S; k++) {
      if (this.leader[k] !== o || this.holds(u, k)) continue;
      this.setLeader(k, u);
      this.addFollower(k, o); // o keeps its copy as a follower; trimmed below if one too many
      return;
    }
    throw new Error('slot arrangement: no slot to move'); // unreachable: Σ targets = Σ leaderships
  }

  // ---- 3. followers --------------------------------------------------------------------------------

  /** Follower targets by water filling (see `followerLevel`); the ceil goes to those following most now. */
  private followerTargets(): void {
    const { S, N, L, F, tF } = this;
    const { q, extra } = followerLevel(S, S * this.want, L);
    const roomy: number[] = [];
    for (let i = 0; i < N; i++) {
      const cap = S - L[i];
      if (cap <= q) tF[i] = cap;
      else {
        tF[i] = q;
        roomy.push(i);
      }
    }
    roomy.sort((a, b) => F[b] - F[a] || a - b);
    for (let r = 0; r < extra; r++) tF[roomy[r]]++;
  }

  private balanceFollowers(): void {
    this.followerTargets();
    const { S, N, F, tF, want } = this;
    // Trim slots with too many followers (fewer replicas, or a leader moved directly), most loaded first.
    for (let k = 0; k < S; k++) {
      while (this.fol[k].length > want) {
        let worst = this.fol[k][0];
        for (const f of this.fol[k]) if (F[f] - tF[f] > F[worst] - tF[worst]) worst = f;
        this.removeFollower(k, worst);
      }
    }
    // Fill open places with the server furthest below its share, spreading each leader's followers.
    for (let k = 0; k < S; k++) {
      const l = this.leader[k];
      while (this.fol[k].length < want) {
        let best = NONE;
        for (let i = 0; i < N; i++) {
          if (this.holds(i, k)) continue;
          if (best === NONE) best = i;
          else {
            const d = tF[i] - F[i] - (tF[best] - F[best]);
            if (d > 0 || (d === 0 && this.pair[l * N + i] < this.pair[l * N + best])) best = i;
          }
        }
        this.addFollower(k, best);
      }
    }
    // Move follower replicas from servers above their share to servers below it.
    for (let u = 0; u < N; u++) {
      while (F[u] < tF[u]) {
        if (!this.moveFollowerTo(u)) break;
      }
    }
  }

  /**
   * One follower replica for `u`: directly from an over-loaded server if it follows a slot `u` does not
   * hold, else along the shortest chain over → … → u (one copy per hop).
   */
  private moveFollowerTo(u: number): boolean {
    const { N, F, tF } = this;
    const prevOf = new Int32Array(N).fill(NONE);
    const viaSlot = new Int32Array(N).fill(NONE);
    const seen = new Uint8Array(N);
    seen[u] = 1;
    const queue = [u];
    for (let head = 0; head < queue.length; head++) {
      const b = queue[head];
      // Candidates: over-loaded first (by surplus), so a direct move wins when one exists.
      const found: number[] = [];
      for (let a = 0; a < N; a++) {
        if (seen[a]) continue;
        const k = this.movableSlot(a, b);
        if (k === NONE) continue;
        seen[a] = 1;
        prevOf[a] = b;
        viaSlot[a] = k;
        found.push(a);
      }
      let over = NONE;
      for (const a of found) if (F[a] > tF[a] && (over === NONE || F[a] - tF[a] > F[over] - tF[over])) over = a;
      if (over !== NONE) {
        for (let a = over; a !== u; a = prevOf[a]) {
          const k = viaSlot[a];
          this.removeFollower(k, a);
          this.addFollower(k, prevOf[a]);
        }
        return true;
      }
      queue.push(...found);
    }
    return false;
  }

  /** A slot `a` follows and `b` does not hold, preferring one whose leader `b` follows least. */
  private movableSlot(a: number, b: number): number {
    let best = NONE;
    let bestPair = 0;
    for (const k of this.follows[a]) {
      if (this.holds(b, k)) continue;
      const p = this.pair[this.leader[k] * this.N + b];
      if (best === NONE || p < bestPair || (p === bestPair && k < best)) {
        best = k;
        bestPair = p;
      }
    }
    return best;
  }

  // ---- result --------------------------------------------------------------------------------------

  result(): SlotTable {
    const { prev, servers, opts, S } = this;
    const slots: { leader: string; followers: string[] }[] = [];
    let changed = !prev || prev.replicas !== opts.replicas;
    for (let k = 0; k < S; k++) {
      const l = this.leader[k];
      const leader = l === NONE ? '' : servers[l];
      const followers = [...this.fol[k]].sort((a, b) => a - b).map((i) => servers[i]);
      slots.push({ leader, followers });
      if (!changed) {
        const p = prev!.slots[k];
        changed = p.leader !== leader || !sameList(p.followers, followers);
      }
    }
    if (!changed) return prev!;
    const epoch = (prev?.epoch ?? 0) + 1;
    const out: SlotReplica[] = slots.map(({ leader, followers }, id) => {
      const p = prev?.slots[id];
      let leaderEpoch: number;
      if (!p) leaderEpoch = leader === '' ? 0 : epoch;
      else if (p.leader === leader) leaderEpoch = p.leaderEpoch;
      else leaderEpoch = Math.max(epoch, p.leaderEpoch + 1);
      return Object.freeze({ id, leader, leaderEpoch, followers: Object.freeze(followers) as string[] });
    });
    return Object.freeze({
      epoch,
      slotCount: S,
      replicas: opts.replicas,
      slots: Object.freeze(out) as SlotReplica[],
    });
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
