import type { SlotTable } from './slot-table';
import { compareIds } from './slot-table';

/** What one server gains and loses between two tables; every list holds slot ids, ascending. */
export interface ServerMovement {
  /** Slots it leads in `b` but not in `a`. */
  leadersGained: number[];
  /** Slots it led in `a` but not in `b`. */
  leadersLost: number[];
  /** Slots it follows in `b` but not in `a`. */
  followersGained: number[];
  /** Slots it followed in `a` but not in `b`. */
  followersLost: number[];
  /** Slots it holds (leads or follows) in `b` and did not hold in `a`: data it must copy. */
  replicasAdded: number[];
  /** Slots it held in `a` and no longer holds in `b`: data it may drop. */
  replicasRemoved: number[];
}

/** The movement between two tables of the same slot count (see `diffTables`). */
export interface TableDiff {
  /** Slots whose leader differs. */
  leaderChanges: number[];
  /** Total (slot, server) replicas present in `b` and not in `a`: the number of slot copies. */
  replicasAdded: number;
  /** Total (slot, server) replicas present in `a` and not in `b`. */
  replicasRemoved: number;
  /** Per server with any change, keys in sorted order. */
  servers: Record<string, ServerMovement>;
}

/**
 * The leaderships and replicas that move from table `a` to table `b` (`a` undefined: from an empty
 * table). A leader swapped with its follower counts as a leader change for both and as no replica
 * added or removed. Tables must have the same slot count (slots beyond the shorter table are ignored).
 */
export function diffTables(a: SlotTable | undefined, b: SlotTable): TableDiff {
  const moves = new Map<string, ServerMovement>();
  const of = (s: string): ServerMovement => {
    let m = moves.get(s);
    if (!m) {
      m = {
        leadersGained: [],
        leadersLost: [],
        followersGained: [],
        followersLost: [],
        replicasAdded: [],
        replicasRemoved: [],
      };
      moves.set(s, m);
    }
    return m;
  };
  const leaderChanges: number[] = [];
  let added = 0;
  let removed = 0;
  const n = a ? Math.min(a.slots.length, b.slots.length) : b.slots.length;
  for (let k = 0; k < n; k++) {
    const before = a?.slots[k];
    const after = b.slots[k];
    const la = before?.leader ?? '';
    const lb = after.leader;
    if (la !== lb) {
      leaderChanges.push(k);
      if (la) of(la).leadersLost.push(k);
      if (lb) of(lb).leadersGained.push(k);
    }
    const fa = new Set(before?.followers ?? []);
    const fb = new Set(after.followers);
    for (const f of fb) if (!fa.has(f)) of(f).followersGained.push(k);
    for (const f of fa) if (!fb.has(f)) of(f).followersLost.push(k);
    const ha = new Set(fa);
    if (la) ha.add(la);
    const hb = new Set(fb);
    if (lb) hb.add(lb);
    for (const s of hb) {
      if (ha.has(s)) continue;
      of(s).replicasAdded.push(k);
      added++;
    }
    for (const s of ha) {
      if (hb.has(s)) continue;
      of(s).replicasRemoved.push(k);
      removed++;
    }
  }
  const servers: Record<string, ServerMovement> = {};
  for (const [s, m] of [...moves].sort(([a], [b]) => compareIds(a, b))) servers[s] = m;
  return { leaderChanges, replicasAdded: added, replicasRemoved: removed, servers };
}
