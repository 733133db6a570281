/**
 * Helpers for the arranger's tests: server names, per-server counts, lower bounds on movement, and an
 * exhaustive oracle for small clusters. Deliberately naive (no code shared with the lib's internals).
 */
import type { SlotTable } from '@sofareg/consistent-hash';

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
  for (const s of live ?? []) (leaders.set(s, 0), followers.set(s, 0), holdings.set(s, 0));
  for (const slot of t?.slots ?? []) {
    if (slot.leader) (inc(leaders, slot.leader), inc(holdings, slot.leader));
    for (const f of slot.followers) (inc(followers, f), inc(holdings, f));
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
 * every replica of the new table that its server did not hold before is a copy, and a server can keep
 * at most as many replicas as its final leader count plus the most followers it may have.
 */
export function copiesLowerBound(prev: SlotTable | undefined, next: SlotTable, live: readonly string[]): number {
  const before = counts(prev, live);
  const after = counts(next, live);
  const S = next.slotCount;
  const r = Math.min(next.replicas, live.length);
  const caps = live.map((s) => S - get(after.leaders, s));
  const { q } = naiveLevel(S * (r - 1), caps);
  let keep = 0;
  live.forEach((s, i) => {
    const maxF = caps[i] <= q ? caps[i] : q + 1;
    keep += Math.min(get(before.holdings, s), get(after.leaders, s) + maxF);
  });
  return S * r - keep;
}

/**
 * A lower bound on leader changes: every slot whose leader is gone changes, and every server must lose
 * the leaderships it holds above its final count and gain those below it.
 */
export function leaderChangesLowerBound(prev: SlotTable | undefined, next: SlotTable, live: readonly string[]): number {
  const alive = new Set(live);
  const before = counts(prev, live);
  const after = counts(next, live);
  let orphaned = 0;
  for (const slot of prev?.slots ?? next.slots.map(() => ({ leader: '' }))) if (!alive.has(slot.leader)) orphaned++;
  let lose = 0;
  let gain = 0;
  for (const s of live) {
    lose += Math.max(0, get(before.leaders, s) - get(after.leaders, s));
    gain += Math.max(0, get(after.leaders, s) - get(before.leaders, s));
  }
  return Math.max(orphaned + lose, gain);
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
 * water level) and promotes a live follower of every slot whose leader died. Dynamic programming over
 * the slots, keyed by the per-server leader and follower counts.
 */
export function oracleMinimum(prev: SlotTable, live: readonly string[], replicas: number): { copies: number; leaderChanges: number } {
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
    const leaderChoices = alive.has(p.leader) ? [...live] : liveFollowers.length > 0 ? liveFollowers : [...live];
    const options: { l: number; fs: number[]; cost: Cost }[] = [];
    for (const l of leaderChoices) {
      const others = live.filter((s) => s !== l);
      for (const fs of combinations(others, r - 1)) {
        const copies = [l, ...fs].filter((s) => !had.has(s)).length;
        options.push({ l: live.indexOf(l), fs: fs.map((f) => live.indexOf(f)), cost: [copies, l === p.leader ? 0 : 1] });
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
  if (!best) throw new Error('oracle: no balanced table exists');
  return { copies: best[0], leaderChanges: best[1] };
}
