/**
 * Helpers for the arranger's tests: server names, per-server counts, lower bounds on movement, and an
 * exhaustive oracle for small clusters. Deliberately naive (no code shared with the lib's internals).
 */
import type { SlotTable } from '../src';

export const server = (i: number): string => `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:9620`;
export const servers = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => server(from + i));

export interface Counts {
  leaders: Map<string, number>;
  followers: Map<string, number>;
  holdings: Map<string, number>;
}

export function counts(t: SlotTable | undefined, live?: readonly string[]): Counts {
  const leaders = new Map<string, number>();
  const followers = new Map<string, number>();
  const holdings = new Map<string, number>();
  const inc = (m: Map<string, number>, s: string) => m.set(s, (m.get(s) ?? 0) + 1);
  for (const s of live ?? []) {
    leaders.set(s, 0);
    followers.set(s, 0);
    holdings.set(s, 0);
  }
  for (const slot of t?.slots ?? []) {
    if (slot.leader) {
      inc(leaders, slot.leader);
      inc(holdings, slot.leader);
    }
    for (const f of slot.followers) {
      inc(followers, f);
      inc(holdings, f);
    }
  }
  return { leaders, followers, holdings };
}

export const get = (m: Map<string, number>, s: string): number => m.get(s) ?? 0;

export function holders(t: SlotTable | undefined, k: number): string[] {
  const s = t?.slots[k];
  return s ? [...(s.leader ? [s.leader] : []), ...s.followers] : [];
}

/** Naive integer water level: the largest q with Σ min(cap, q) <= total, and the remainder. */
export function naiveLevel(total: number, caps: number[]): { q: number; extra: number } {
  let q = 0;
  const fill = (x: number) => caps.reduce((sum, c) => sum + Math.min(c, x), 0);
  while (q < Math.max(0, ...caps) && fill(q + 1) <= total) q++;
  return { q, extra: total - fill(q) };
}

/**
 * A lower bound on the slot copies any valid next table needs, given the leader counts it ends with:
 * every replica of the new table that its server did not hold before is a copy. The most replicas a
 * table can keep is a maximum flow: each slot keeps at most `r` of the replicas it had on live servers,
 * and each server keeps at most its final leader count plus the most followers it may have (`q`, or its
 * cap if lower; only `extra` servers may have `q + 1`).
 */
export function copiesLowerBound(prev: SlotTable | undefined, next: SlotTable, live: readonly string[]): number {
  if (live.length === 0) return 0;
  const after = counts(next, live);
  const S = next.slotCount;
  const N = live.length;
  const r = Math.min(next.replicas, N);
  const caps = live.map((s) => S - get(after.leaders, s));
  const { q, extra } = naiveLevel(S * (r - 1), caps);
  // Nodes: 0 source, 1..S slots, S+1..S+N servers, S+N+1 bonus (the q+1 places), S+N+2 sink.
  const src = 0;
  const bonus = S + N + 1;
  const sink = S + N + 2;
  const flow = new MaxFlow(S + N + 3);
  const index = new Map(live.map((s, i) => [s, i]));
  for (let k = 0; k < S; k++) {
    const had = holders(prev, k).filter((s) => index.has(s));
    if (had.length === 0) continue;
    flow.add(src, 1 + k, r);
    had.forEach((s) => flow.add(1 + k, S + 1 + (index.get(s) ?? 0), 1));
  }
  live.forEach((s, i) => {
    flow.add(S + 1 + i, sink, get(after.leaders, s) + Math.min(caps[i], q));
    if (caps[i] > q) flow.add(S + 1 + i, bonus, 1);
  });
  flow.add(bonus, sink, extra);
  return S * r - flow.max(src, sink);
}

/** Plain Edmonds-Karp maximum flow (test helper; graphs of a few hundred nodes). */
class MaxFlow {
  private readonly adj: number[][];
  private readonly to: number[] = [];
  private readonly cap: number[] = [];

  constructor(n: number) {
    this.adj = Array.from({ length: n }, () => []);
  }

  add(a: number, b: number, c: number): void {
    this.adj[a].push(this.to.length);
    this.to.push(b);
    this.cap.push(c);
    this.adj[b].push(this.to.length);
    this.to.push(a);
    this.cap.push(0);
  }

  max(s: number, t: number): number {
    let total = 0;
    for (;;) {
      const via = new Array<number>(this.adj.length).fill(-1);
      const queue = [s];
      via[s] = -2;
      for (let h = 0; h < queue.length && via[t] === -1; h++) {
        for (const e of this.adj[queue[h]]) {
          if (this.cap[e] > 0 && via[this.to[e]] === -1) {
            via[this.to[e]] = e;
            queue.push(this.to[e]);
          }
        }
      }
      if (via[t] === -1) return total;
      let push = Infinity;
      for (let v = t; v !== s; v = this.to[via[v] ^ 1]) push = Math.min(push, this.cap[via[v]]);
      for (let v = t; v !== s; v = this.to[via[v] ^ 1]) {
        this.cap[via[v]] -= push;
        this.cap[via[v] ^ 1] += push;
      }
      total += push;
    }
  }
}

/**
 * A lower bound on leader changes given the leader counts `next` ends with. Slots whose leader is gone
 * all change; with one live follower that follower must take them (failover promotion), which fixes
 * part of the final counts; every other leadership a server ends with beyond what it kept and was
 * forced to take needs a change of its own (an orphan with a choice of followers, or a move).
 * Valid while every orphan with a live follower went to one of them (see `promotionsKept`).
 */
export function leaderChangesLowerBound(prev: SlotTable | undefined, next: SlotTable, live: readonly string[]): number {
  const alive = new Set(live);
  const base = counts(prev, live).leaders;
  const after = counts(next, live);
  let forced = 0;
  let free = 0;
  for (const slot of prev?.slots ?? next.slots.map(() => ({ leader: '', followers: [] as string[] }))) {
    if (alive.has(slot.leader)) continue;
    const followers = slot.followers.filter((f) => alive.has(f));
    if (followers.length === 1) {
      forced++;
      base.set(followers[0], get(base, followers[0]) + 1);
    } else free++;
  }
  let gain = 0;
  let lose = 0;
  for (const s of live) {
    gain += Math.max(0, get(after.leaders, s) - get(base, s));
    lose += Math.max(0, get(base, s) - get(after.leaders, s));
  }
  // Gains beyond the base come from free orphans or moves; each move also shows as a loss.
  return forced + free + Math.max(0, gain - free, lose);
}

/** True when every slot whose leader died and that had a live follower is led by one of them. */
export function promotionsKept(prev: SlotTable, next: SlotTable, live: readonly string[]): boolean {
  const alive = new Set(live);
  return prev.slots.every(
    (p, k) =>
      alive.has(p.leader) || !p.followers.some((f) => alive.has(f)) || p.followers.includes(next.slots[k].leader),
  );
}

function combinations<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  const out: T[][] = [];
  items.forEach((x, i) => {
    for (const rest of combinations(items.slice(i + 1), k - 1)) out.push([x, ...rest]);
  });
  return out;
}

/**
 * Exhaustive oracle for small clusters where every live server is ready: the fewest slot copies, then
 * the fewest leader changes, of any table that is balanced (leaders floor/ceil of S/N; followers at the
 * water level) and keeps, with two or more replicas, at least one surviving replica of every slot.
 * With `promote` (the default) a slot whose leader died goes to one of its live followers, as `arrange`
 * does; when no balanced table allows that, the oracle drops the rule (so does `arrange`, as a last resort). Dynamic programming over
 * the slots, keyed by the per-server leader and follower counts.
 */
export function oracleMinimum(
  prev: SlotTable,
  live: readonly string[],
  replicas: number,
  promote = true,
): { copies: number; leaderChanges: number; promoted: boolean } {
  const S = prev.slotCount;
  const N = live.length;
  const r = Math.min(replicas, N);
  const alive = new Set(live);
  const lo = Math.floor(S / N);
  const hi = Math.ceil(S / N);
  type Cost = [number, number];
  let states = new Map<string, Cost>([[JSON.stringify(new Array(2 * N).fill(0)), [0, 0]]]);
  for (let k = 0; k < S; k++) {
    const p = prev.slots[k];
    const had = new Set(holders(prev, k).filter((s) => alive.has(s)));
    const liveFollowers = p.followers.filter((s) => alive.has(s));
    const leaders = promote && !alive.has(p.leader) && liveFollowers.length > 0 ? liveFollowers : live;
    const options: { l: number; fs: number[]; cost: Cost }[] = [];
    for (const l of leaders) {
      const others = live.filter((s) => s !== l);
      for (const fs of combinations(others, r - 1)) {
        if (r >= 2 && had.size > 0 && ![l, ...fs].some((s) => had.has(s))) continue; // would drop the data
        const copies = [l, ...fs].filter((s) => !had.has(s)).length;
        options.push({
          l: live.indexOf(l),
          fs: fs.map((f) => live.indexOf(f)),
          cost: [copies, l === p.leader ? 0 : 1],
        });
      }
    }
    const next = new Map<string, Cost>();
    for (const [key, cost] of states) {
      const vec = JSON.parse(key) as number[];
      for (const o of options) {
        if (vec[o.l] + 1 > hi) continue;
        const v = [...vec];
        v[o.l]++;
        for (const f of o.fs) v[N + f]++;
        const c: Cost = [cost[0] + o.cost[0], cost[1] + o.cost[1]];
        const nk = JSON.stringify(v);
        const old = next.get(nk);
        if (!old || c[0] < old[0] || (c[0] === old[0] && c[1] < old[1])) next.set(nk, c);
      }
    }
    states = next;
  }
  let best: Cost | undefined;
  for (const [key, cost] of states) {
    const v = JSON.parse(key) as number[];
    const L = v.slice(0, N);
    const F = v.slice(N);
    if (L.some((x) => x < lo || x > hi)) continue;
    const caps = L.map((x) => S - x);
    const { q } = naiveLevel(S * (r - 1), caps);
    if (F.some((f, i) => (caps[i] <= q ? f !== caps[i] : f < q || f > q + 1))) continue;
    if (!best || cost[0] < best[0] || (cost[0] === best[0] && cost[1] < best[1])) best = cost;
  }
  if (!best) {
    if (promote) return oracleMinimum(prev, live, replicas, false);
    throw new Error('oracle: no balanced table exists');
  }
  return { copies: best[0], leaderChanges: best[1], promoted: promote };
}

/**
 * The fewest copies of any table with `next`'s leaders and `next`'s follower count per server: an exact
 * oracle for the follower placement (min-cost flow; slots to servers, cost 1 per replica not held in
 * `prev`). Cost grows with slots × servers; meant for tests.
 */
export function placementMinimum(prev: SlotTable | undefined, next: SlotTable, live: readonly string[]): number {
  const S = next.slotCount;
  const N = live.length;
  if (N === 0) return 0;
  const after = counts(next, live);
  const src = 0;
  const sink = S + N + 1;
  const g = new MinCostFlow(S + N + 2);
  let leaderCopies = 0;
  let need = 0;
  for (let k = 0; k < S; k++) {
    const had = new Set(holders(prev, k));
    const leader = next.slots[k].leader;
    if (!had.has(leader)) leaderCopies++;
    const places = next.slots[k].followers.length;
    if (places === 0) continue;
    need += places;
    g.add(src, 1 + k, places, 0);
    live.forEach((s, i) => {
      if (s !== leader) g.add(1 + k, 1 + S + i, 1, had.has(s) ? 0 : 1);
    });
  }
  live.forEach((s, i) => g.add(1 + S + i, sink, get(after.followers, s), 0));
  const { flow, cost } = g.run(src, sink);
  if (flow !== need) throw new Error('placementMinimum: no placement with these counts');
  return leaderCopies + cost;
}

/** Successive shortest paths (SPFA) min-cost flow, for the test oracles. */
class MinCostFlow {
  private readonly adj: number[][];
  private readonly to: number[] = [];
  private readonly cap: number[] = [];
  private readonly cost: number[] = [];

  constructor(n: number) {
    this.adj = Array.from({ length: n }, () => []);
  }

  add(a: number, b: number, c: number, w: number): void {
    this.adj[a].push(this.to.length);
    this.to.push(b);
    this.cap.push(c);
    this.cost.push(w);
    this.adj[b].push(this.to.length);
    this.to.push(a);
    this.cap.push(0);
    this.cost.push(-w);
  }

  run(s: number, t: number): { flow: number; cost: number } {
    const n = this.adj.length;
    let flow = 0;
    let cost = 0;
    for (;;) {
      const dist = new Array<number>(n).fill(Infinity);
      const via = new Int32Array(n).fill(-1);
      const inQueue = new Uint8Array(n);
      dist[s] = 0;
      const queue = [s];
      for (let h = 0; h < queue.length; h++) {
        const v = queue[h];
        inQueue[v] = 0;
        for (const e of this.adj[v]) {
          if (this.cap[e] > 0 && dist[v] + this.cost[e] < dist[this.to[e]]) {
            dist[this.to[e]] = dist[v] + this.cost[e];
            via[this.to[e]] = e;
            if (!inQueue[this.to[e]]) {
              inQueue[this.to[e]] = 1;
              queue.push(this.to[e]);
            }
          }
        }
      }
      if (dist[t] === Infinity) return { flow, cost };
      let push = Infinity;
      for (let v = t; v !== s; v = this.to[via[v] ^ 1]) push = Math.min(push, this.cap[via[v]]);
      for (let v = t; v !== s; v = this.to[via[v] ^ 1]) {
        this.cap[via[v]] -= push;
        this.cap[via[v] ^ 1] += push;
      }
      flow += push;
      cost += push * dist[t];
    }
  }
}
