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
 * the result depends only on the arguments (`live` is de-duplicated and sorted first).
 *
 * Returns `prev` itself (the same object) when nothing needs to change; otherwise a new, deeply frozen
 * table with `epoch = prev.epoch + 1` (or 1 without `prev`). The result:
 * - gives every slot a leader while any server is live (`''` when none is), and
 *   `min(replicas, live.length) - 1` followers, all distinct and sorted;
 * - balances leaders: every ready server (see `readyToLead`) leads floor or ceil of the ready servers'
 *   share; a server not ready leads only slots it was promoted to by failover;
 * - balances followers: every server follows floor or ceil of `slotCount * (replicas - 1) / live.length`,
 *   except one that leads so much it has no room left (it then follows every slot it does not lead);
 * - promotes, for a slot whose leader died, one of its live followers (the ready one leading least);
 * - moves little: leaderships move by swapping a leader with one of its followers (no data moves; the
 *   fewest changed leaders among such solutions), a follower replica moves only from a server above its
 *   share to one below it, and placements are matched so that joins and deaths copy the minimum;
 *   a leadership moves directly to a server without the data only when no chain of swaps can serve
 *   it, preferring a slot whose leader changes anyway;
 * - never drops every replica a slot had on live servers (with two or more replicas): its data;
 * - sets a slot's `leaderEpoch` to the new epoch exactly when its leader changes.
 *
 * A joining server first receives follower replicas only, chosen among the slots of the servers that
 * will have to give it leaderships; it takes leaderships in a later table, once ready (in
 * `opts.caughtUp`, or after one table as a follower when `caughtUp` is not given).
 *
 * Cost: about 0.3 ms for 256 slots and 20 servers, 0.2 to 0.5 s for 65,536 slots (see README).
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
  /** The live leader of each slot in `prev`, or NONE. */
  private readonly orig: Int32Array;
  /**
   * edges[(a * N + b) * 3 + c + 1]: slots led by `a` and followed by `b` whose swap (b leads, a follows)
   * changes the number of slots led by someone else than in `prev` by `c` (-1, 0 or +1).
   */
  private readonly edges: Int32Array;
  /** Ready to take leaderships by balancing. */
  private readonly ready: boolean[];
  /** Live servers that held each slot in `prev`: a slot never loses the last of them (its data). */
  private readonly had: number[][];
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
    this.orig = new Int32Array(S).fill(NONE);
    this.edges = new Int32Array(N * N * 3);
    this.tF = new Int32Array(N);
    this.ready = leaderEligibility(prev, servers, opts.replicas, opts.caughtUp);
    this.had = Array.from({ length: S }, () => []);
    if (!prev) return;
    const index = new Map(servers.map((s, i) => [s, i]));
    for (let k = 0; k < S; k++) {
      const slot = prev.slots[k];
      const l = slot.leader === '' ? undefined : index.get(slot.leader);
      if (l !== undefined) {
        this.orig[k] = l;
        this.setLeader(k, l);
      }
      for (const f of slot.followers) {
        const i = index.get(f);
        if (i !== undefined && !this.holds(i, k)) this.addFollower(k, i);
      }
      if (this.leader[k] !== NONE) this.had[k].push(this.leader[k]);
      this.had[k].push(...this.fol[k]);
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

  /** True when `i` is the last current holder of slot `k` that held it in `prev`. */
  private lastCopy(k: number, i: number): boolean {
    const had = this.had[k];
    if (!had.includes(i)) return false;
    for (const h of had) if (h !== i && this.holds(h, k)) return false;
    return true;
  }

  /** The change in leader changes if follower `b` of slot `k` took over from leader `a`: -1, 0 or +1. */
  private swapCost(k: number, a: number, b: number): number {
    const o = this.orig[k];
    return (a === o ? 1 : 0) - (b === o ? 1 : 0);
  }

  private edge(k: number, a: number, b: number, delta: number): void {
    this.edges[(a * this.N + b) * 3 + this.swapCost(k, a, b) + 1] += delta;
  }

  /** Slots led by `a` and followed by `b`. */
  private pair(a: number, b: number): number {
    const e = (a * this.N + b) * 3;
    return this.edges[e] + this.edges[e + 1] + this.edges[e + 2];
  }

  private setLeader(k: number, i: number): void {
    const old = this.leader[k];
    if (old !== NONE) {
      this.L[old]--;
      for (const f of this.fol[k]) this.edge(k, old, f, -1);
    }
    this.leader[k] = i;
    this.L[i]++;
    for (const f of this.fol[k]) this.edge(k, i, f, 1);
  }

  private addFollower(k: number, i: number): void {
    this.fol[k].push(i);
    this.F[i]++;
    this.follows[i].add(k);
    if (this.leader[k] !== NONE) this.edge(k, this.leader[k], i, 1);
  }

  private removeFollower(k: number, i: number): void {
    const list = this.fol[k];
    list.splice(list.indexOf(i), 1);
    this.F[i]--;
    this.follows[i].delete(k);
    if (this.leader[k] !== NONE) this.edge(k, this.leader[k], i, -1);
  }

  /** Follower `b` of slot `k` becomes its leader; the old leader becomes a follower. No data moves. */
  private swap(k: number, b: number): void {
    const a = this.leader[k];
    this.removeFollower(k, b);
    this.setLeader(k, b);
    this.addFollower(k, a);
  }

  // ---- 1. failover ---------------------------------------------------------------------------------

  /**
   * Every slot without a live leader gets one: a live follower first (all such promotions before the
   * rest, so the load they add is known), else the ready server leading least (then holding least).
   */
  private failover(): void {
    const { L, F, ready } = this;
    const orphans: number[] = [];
    for (let k = 0; k < this.S; k++) {
      if (this.leader[k] !== NONE) continue;
      let best = NONE;
      for (const f of this.fol[k]) {
        if (best === NONE || better(f, best)) best = f;
      }
      if (best === NONE) {
        orphans.push(k);
        continue;
      }
      this.removeFollower(k, best);
      this.setLeader(k, best);
    }
    for (const k of orphans) {
      let best = NONE;
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

  /** Ready servers share what not-ready ones lead (failover only): each leads `lo` or `hi` slots. */
  private lo = 0;
  private hi = 0;

  private leaderRange(): void {
    const { L, ready } = this;
    let rest = this.S;
    let pool = 0;
    for (let i = 0; i < this.N; i++) {
      if (ready[i]) pool++;
      else rest -= L[i];
    }
    this.lo = Math.floor(rest / pool);
    this.hi = Math.ceil(rest / pool);
  }

  /**
   * Moves leaderships until every ready server leads `lo` or `hi` slots (their sum is fixed, so that is
   * balance). Each step applies the cheapest chain of swaps from a server that must or may give to one
   * that may or must take (each swap: a follower takes over, the leader becomes a follower, no data
   * moves); a swap costs +1 if it takes a slot from its leader in `prev`, -1 if it gives one back, 0
   * otherwise. That is min-cost flow by successive shortest paths (the swap graph is its own residual
   * graph), so the number of changed leaders is minimal among swap-only solutions. Only when no chain
   * exists does a leadership move directly (one copy).
   */
  private balanceLeaders(): void {
    this.leaderRange();
    const { L, ready, N, lo, hi } = this;
    for (;;) {
      let over = false;
      let under = false;
      for (let i = 0; i < N; i++) {
        if (!ready[i]) continue;
        if (L[i] > hi) over = true;
        if (L[i] < lo) under = true;
      }
      if (!over && !under) return;
      // Over-loaded servers give to any that may take one more; any that may give feeds the under-loaded.
      const a = over ? this.cheapestSwapChain(hi, hi) : undefined;
      const b = under ? this.cheapestSwapChain(lo, lo) : undefined;
      const best = !a ? b : !b ? a : a.cost < b.cost || (a.cost === b.cost && a.swaps.length <= b.swaps.length) ? a : b;
      if (best) this.pushSwaps(best.swaps, over && best === a ? hi : lo);
      else this.moveLeader(over);
    }
  }

  /**
   * Bellman-Ford from every ready server leading more than `give` at once, to the ready server leading
   * fewer than `take` reached at the least cost (then fewest swaps). Returns the swaps `[giver, taker,
   * cost]` from that server back to the source (the order to apply them in: each giver still leads the
   * slot it was found by), or undefined if none is reachable.
   */
  private cheapestSwapChain(
    give: number,
    take: number,
  ): { cost: number; swaps: [number, number, number][] } | undefined {
    const { N, L, ready, edges } = this;
    const INF = Number.MAX_SAFE_INTEGER;
    const dist = new Array<number>(N).fill(INF);
    const hops = new Int32Array(N);
    const pred = new Int32Array(N).fill(NONE);
    const predCost = new Int8Array(N);
    for (let i = 0; i < N; i++) if (ready[i] && L[i] > give) dist[i] = 0;
    for (let round = 0, changed = true; changed && round < N; round++) {
      changed = false;
      for (let a = 0; a < N; a++) {
        if (dist[a] === INF) continue;
        for (let b = 0; b < N; b++) {
          if (b === a || !ready[b]) continue;
          const e = (a * N + b) * 3;
          const c = edges[e] > 0 ? -1 : edges[e + 1] > 0 ? 0 : edges[e + 2] > 0 ? 1 : 2;
          if (c === 2) continue;
          const d = dist[a] + c;
          if (d < dist[b] || (d === dist[b] && hops[a] + 1 < hops[b])) {
            dist[b] = d;
            hops[b] = hops[a] + 1;
            pred[b] = a;
            predCost[b] = c;
            changed = true;
          }
        }
      }
    }
    let u = NONE;
    for (let i = 0; i < N; i++) {
      if (!ready[i] || L[i] >= take || pred[i] === NONE) continue;
      if (u === NONE || dist[i] < dist[u] || (dist[i] === dist[u] && hops[i] < hops[u])) u = i;
    }
    if (u === NONE) return undefined;
    const swaps: [number, number, number][] = [];
    const seen = new Uint8Array(N);
    for (let b = u; pred[b] !== NONE; b = pred[b]) {
      if (seen[b]) return undefined; // a negative cycle: not expected, never followed
      seen[b] = 1;
      swaps.push([pred[b], b, predCost[b]]);
    }
    return { cost: dist[u], swaps };
  }

  /**
   * Applies a chain of swaps (receiving end first) as many times as it stays a cheapest chain: limited by
   * the slots on each edge of its cost, what the source may give and what the receiver may take (both
   * relative to `limit`, the bound the search used).
   */
  private pushSwaps(swaps: [number, number, number][], limit: number): void {
    const { L, N, edges } = this;
    const receiver = swaps[0][1];
    const source = swaps[swaps.length - 1][0];
    let times = Math.min(L[source] - limit, limit - L[receiver]);
    for (const [a, b, cost] of swaps) times = Math.min(times, edges[(a * N + b) * 3 + cost + 1]);
    for (let n = 0; n < Math.max(1, times); n++) {
      for (const [giver, taker, cost] of swaps) this.swap(this.slotToSwap(giver, taker, cost), taker);
    }
  }

  /** A slot led by `a`, followed by `b`, whose swap costs `cost`. */
  private slotToSwap(a: number, b: number, cost: number): number {
    for (const k of this.follows[b]) if (this.leader[k] === a && this.swapCost(k, a, b) === cost) return k;
    throw new Error('slot arrangement: no slot for a swap'); // unreachable: the edge count says one exists
  }

  /**
   * No chain of swaps reaches any server that may take a leadership: move leaderships directly (one
   * copy each) to the least-loaded such server (below `hi` when some server is above it, else below
   * `lo`), from servers that must or may give, until it reaches that bound. (Moves only add swap edges
   * out of the receiver, so no chain to it appears meanwhile.) Preferred slots: one with a free follower
   * place (the old leader becomes a follower and no replica has to leave), then one whose leader changes
   * in this table anyway (a dead leader's: its promoted follower stays as a follower, and no other slot
   * is disturbed), then the giver leading most, then the lowest id.
   */
  private moveLeader(over: boolean): void {
    const { L, ready, N, want, S } = this;
    const limit = over ? this.hi : this.lo;
    let u = NONE;
    for (let i = 0; i < N; i++) if (ready[i] && L[i] < limit && (u === NONE || L[i] < L[u])) u = i;
    const candidates: number[] = [];
    const rank = new Int32Array(S);
    for (let k = 0; k < S; k++) {
      const o = this.leader[k];
      if (u === NONE || L[o] <= limit || !ready[o] || this.holds(u, k)) continue;
      candidates.push(k);
      rank[k] = ((this.fol[k].length < want ? 2 : 0) + (this.orig[k] !== o ? 1 : 0)) * (S + 1) + L[o];
    }
    // Unreachable: a giver whose every slot u follows would have given by a swap.
    if (candidates.length === 0) throw new Error('slot arrangement: no leadership to move');
    candidates.sort((a, b) => rank[b] - rank[a] || a - b);
    for (const k of candidates) {
      if (L[u] >= limit) return;
      const o = this.leader[k];
      if (L[o] <= limit) continue;
      this.setLeader(k, u);
      this.addFollower(k, o);
    }
  }

  // ---- 3. followers --------------------------------------------------------------------------------

  /**
   * Follower targets by water filling (see `followerLevel`). The `extra` places at `q + 1` go first to
   * servers that can reach it by keeping what they follow and filling open places of slots they do not
   * hold (so no replica has to move), then to those following most now.
   */
  private followerTargets(): void {
    const { S, N, L, F, tF, want } = this;
    const { q, extra } = followerLevel(S, S * want, L);
    const roomy: number[] = [];
    for (let i = 0; i < N; i++) {
      const cap = S - L[i];
      if (cap <= q) tF[i] = cap;
      else {
        tF[i] = q;
        roomy.push(i);
      }
    }
    if (extra === 0) return;
    const reach = new Int32Array(N);
    for (const i of roomy) reach[i] = F[i];
    for (let k = 0; k < S; k++) {
      if (this.fol[k].length >= want) continue;
      for (const i of roomy) if (!this.holds(i, k)) reach[i]++;
    }
    const can = (i: number): number => (reach[i] > q ? 1 : 0);
    roomy.sort((a, b) => can(b) - can(a) || F[b] - F[a] || a - b);
    for (let r = 0; r < extra; r++) tF[roomy[r]]++;
  }

  private balanceFollowers(): void {
    this.followerTargets();
    const { S, N, F, tF, want } = this;
    // Trim slots with too many followers (fewer replicas, or a leader moved directly), most loaded first.
    for (let k = 0; k < S; k++) {
      while (this.fol[k].length > want) {
        let worst = NONE;
        for (const f of this.fol[k]) {
          if (want > 0 && this.lastCopy(k, f)) continue; // with one replica there is nothing to keep
          if (worst === NONE || F[f] - tF[f] > F[worst] - tF[worst]) worst = f;
        }
        if (worst === NONE) break; // unreachable: of want + 1 >= 2 followers, at most one is the last copy
        this.removeFollower(k, worst);
      }
    }
    // Fill open places: first each with the server furthest below its share that may hold it; then what
    // is left by augmenting paths (see `augmentFill`); a place even that cannot fill goes to the least
    // loaded server that may hold it, and the moves below even the counts out.
    const added: number[][] = Array.from({ length: N }, () => []);
    const open: number[] = [];
    for (let k = 0; k < S; k++) {
      while (this.fol[k].length < want) {
        const best = this.fillCandidate(k);
        if (best === NONE) {
          open.push(k);
          break;
        }
        this.addFollower(k, best);
        added[best].push(k);
      }
    }
    for (const k of open) {
      while (this.fol[k].length < want) {
        if (this.augmentFill(k, added)) continue;
        let best = NONE;
        for (let i = 0; i < N; i++) {
          if (!this.holds(i, k) && (best === NONE || tF[i] - F[i] > tF[best] - F[best])) best = i;
        }
        this.addFollower(k, best);
        added[best].push(k);
      }
    }
    // Move follower replicas from servers above their share to servers below it: directly where one
    // can go, else along a chain.
    for (let u = 0; u < N; u++) {
      while (F[u] < tF[u]) {
        if (this.moveFollowersDirectly(u) === 0 && !this.moveFollowerTo(u)) break;
      }
    }
  }

  /**
   * Moves follower replicas to `u` from servers above their share, as many as `u` lacks and they can
   * give: each time a slot whose leader `u` should follow most (see `slotScore`), from the giver furthest
   * above its share (so no giver runs dry early and strands a leader's slots). One pass over the givers'
   * slots, queued by leader and giver; stale entries are skipped when reached. Returns the moves.
   */
  private moveFollowersDirectly(u: number): number {
    const { N, F, tF } = this;
    const givers: number[] = [];
    const queue: number[][] = new Array<number[]>(N * N);
    for (let o = 0; o < N; o++) {
      if (F[o] <= tF[o] || o === u) continue;
      givers.push(o);
      for (const k of this.follows[o]) {
        if (this.holds(u, k)) continue;
        const q = (queue[this.leader[k] * N + o] ??= []);
        q.push(k);
      }
    }
    const head = new Int32Array(N * N);
    // The next movable slot led by l that o follows, or NONE.
    const next = (l: number, o: number): number => {
      const q = queue[l * N + o];
      if (!q || F[o] <= tF[o]) return NONE;
      while (head[l * N + o] < q.length) {
        const k = q[head[l * N + o]];
        if (this.leader[k] === l && this.follows[o].has(k) && !this.holds(u, k) && !this.lastCopy(k, o)) return k;
        head[l * N + o]++;
      }
      return NONE;
    };
    let moved = 0;
    while (F[u] < tF[u]) {
      let bestLeader = NONE;
      let bestScore = 0;
      for (let l = 0; l < N; l++) {
        if (!givers.some((o) => next(l, o) !== NONE)) continue;
        const score = this.slotScore(l, u);
        if (bestLeader === NONE || score > bestScore) {
          bestLeader = l;
          bestScore = score;
        }
      }
      if (bestLeader === NONE) return moved;
      let from = NONE;
      for (const o of givers) {
        if (next(bestLeader, o) !== NONE && (from === NONE || F[o] - tF[o] > F[from] - tF[from])) from = o;
      }
      const k = next(bestLeader, from);
      head[bestLeader * N + from]++;
      this.removeFollower(k, from);
      this.addFollower(k, u);
      moved++;
    }
    return moved;
  }

  /**
   * How much `b` should follow a slot led by `l`: less the more of `l`'s slots `b` follows already
   * (spreads each leader's followers, so failovers spread); and when `b` is not ready to lead yet, more
   * the more leaderships `l` will have to give once all live servers lead (so that `b` can later take
   * them by swaps, without chains or copies).
   */
  private slotScore(l: number, b: number): number {
    return (this.ready[b] ? 0 : this.L[l] - Math.floor(this.S / this.N)) - this.pair(l, b);
  }

  /**
   * The server furthest below its follower share that may follow slot `k` (does not hold it), preferring
   * the one following the slot's leader least (spreads each leader's followers, so a failover spreads
   * its promotions); NONE when every server below its share holds the slot.
   */
  private fillCandidate(k: number): number {
    const { N, F, tF } = this;
    const l = this.leader[k];
    let best = NONE;
    for (let i = 0; i < N; i++) {
      if (F[i] >= tF[i] || this.holds(i, k)) continue;
      const d = best === NONE ? 1 : tF[i] - F[i] - (tF[best] - F[best]);
      if (d > 0 || (d === 0 && this.pair(l, i) < this.pair(l, best))) best = i;
    }
    return best;
  }

  /**
   * Fills one place of slot `k` by an augmenting path over the places given in this table (`added`,
   * a copy whoever gets it): a server at its share takes the place and hands one of its new places to
   * another server, and so on, until a server below its share takes the last. Breadth first, so the
   * path is shortest; false when no server below its share is reachable.
   */
  private augmentFill(k: number, added: number[][]): boolean {
    const { N, F, tF } = this;
    const viaSlot = new Int32Array(N).fill(NONE);
    const viaServer = new Int32Array(N).fill(NONE);
    const seen = new Uint8Array(N);
    const queue: number[] = [];
    const reach = (j: number, slot: number, from: number): boolean => {
      seen[j] = 1;
      viaSlot[j] = slot;
      viaServer[j] = from;
      if (F[j] >= tF[j]) {
        queue.push(j);
        return false;
      }
      // j takes `slot` from `from`, which takes its own via slot from its giver, ... back to slot k.
      for (let cur = j; cur !== NONE; cur = viaServer[cur]) {
        const place = viaSlot[cur];
        const giver = viaServer[cur];
        if (giver !== NONE) {
          this.removeFollower(place, giver);
          added[giver].splice(added[giver].indexOf(place), 1);
        }
        this.addFollower(place, cur);
        added[cur].push(place);
      }
      return true;
    };
    for (let i = 0; i < N; i++) if (!this.holds(i, k) && reach(i, k, NONE)) return true;
    for (let h = 0; h < queue.length; h++) {
      const i = queue[h];
      for (const k2 of added[i]) {
        for (let j = 0; j < N; j++) {
          if (!seen[j] && !this.holds(j, k2) && reach(j, k2, i)) return true;
        }
      }
    }
    return false;
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
      const score = new Int32Array(N);
      for (let a = 0; a < N; a++) {
        if (seen[a]) continue;
        const k = this.movableSlot(a, b);
        if (k === NONE) continue;
        seen[a] = 1;
        prevOf[a] = b;
        viaSlot[a] = k;
        score[a] = this.movableScore;
        found.push(a);
      }
      // The over-loaded server whose slot suits the receiver best, then the most over-loaded.
      let over = NONE;
      for (const a of found) {
        if (F[a] <= tF[a]) continue;
        if (over === NONE || score[a] > score[over] || (score[a] === score[over] && F[a] - tF[a] > F[over] - tF[over]))
          over = a;
      }
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

  /** The score of the slot last returned by `movableSlot`. */
  private movableScore = 0;

  /**
   * A slot `a` follows that `b` may take over (b does not hold it; a is not its last surviving copy),
   * the best by `slotScore` (kept in `movableScore`), then the lowest id.
   */
  private movableSlot(a: number, b: number): number {
    let best = NONE;
    let bestScore = 0;
    for (const k of this.follows[a]) {
      if (this.holds(b, k) || this.lastCopy(k, a)) continue;
      const score = this.slotScore(this.leader[k], b);
      if (best === NONE || score > bestScore || (score === bestScore && k < best)) {
        best = k;
        bestScore = score;
      }
    }
    this.movableScore = bestScore;
    return best;
  }

  // ---- result --------------------------------------------------------------------------------------

  result(): SlotTable {
    const { prev, servers, opts, S } = this;
    const slots: { leader: string; followers: string[] }[] = [];
    let changed = prev === undefined || prev.replicas !== opts.replicas;
    for (let k = 0; k < S; k++) {
      const l = this.leader[k];
      const leader = l === NONE ? '' : servers[l];
      const followers = [...this.fol[k]].sort((a, b) => a - b).map((i) => servers[i]);
      slots.push({ leader, followers });
      const p = prev?.slots[k];
      if (!changed && p) changed = p.leader !== leader || !sameList(p.followers, followers);
    }
    if (!changed && prev) return prev;
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
