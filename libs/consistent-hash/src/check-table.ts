import { isValidSlotCount } from './slot-function';
import { type SlotTable, followerLevel, leaderEligibility, normalizeLive } from './slot-table';

/** Stable codes of the invariant violations `checkTable` reports. */
export type TableViolationCode =
  | 'SHAPE'
  | 'NO_LEADER'
  | 'DEAD_LEADER'
  | 'DEAD_FOLLOWER'
  | 'DUPLICATE_REPLICA'
  | 'REPLICA_COUNT'
  | 'FOLLOWERS_UNSORTED'
  | 'LEADER_EPOCH_AHEAD'
  | 'LEADER_IMBALANCE'
  | 'FOLLOWER_IMBALANCE'
  | 'EPOCH_NOT_INCREASING'
  | 'LEADER_EPOCH_NOT_BUMPED'
  | 'LEADER_EPOCH_CHANGED'
  | 'REPLICAS_DROPPED'
  | 'LEADER_NOT_READY';

/** One broken invariant: a stable code, the slot or server concerned when there is one, and a message. */
export interface TableViolation {
  code: TableViolationCode;
  slot?: number;
  server?: string;
  message: string;
}

/** Context for `checkTable`'s transition checks. */
export interface CheckContext {
  /** The table this one replaced: enables the epoch, failover and readiness checks. */
  prev?: SlotTable;
  /** As given to `arrange`; decides, with `prev`, which servers were ready to lead. */
  caughtUp?: ReadonlySet<string>;
}

/**
 * The invariants `table` breaks for the given live servers; empty when it is a table `arrange` may
 * return. Checked: shape (ids, slot count), a live leader for every slot while any server lives, live and
 * distinct sorted followers, `min(replicas, live) - 1` followers per slot, `leaderEpoch <= epoch`, leader
 * balance among ready servers (floor or ceil of their share; see `readyToLead`), follower balance (floor
 * or ceil of the even share, or every slot it does not lead for a server without room for that). With `context.prev`: a greater epoch (unless `table === prev`), `leaderEpoch`
 * bumped exactly when the leader changed, no slot losing every replica that survived in `prev` (with two
 * or more replicas: that would lose its data), and no leadership given to a not-ready server except by
 * failover promotion of one of the slot's followers.
 * Balance is checked only when the table is otherwise well formed.
 * @throws ConsistentHashError `INVALID_LIVE` for an invalid `live`; never for a malformed table.
 */
export function checkTable(table: SlotTable, live: readonly string[], context: CheckContext = {}): TableViolation[] {
  const out: TableViolation[] = [];
  const add = (code: TableViolationCode, message: string, where: { slot?: number; server?: string } = {}): void => {
    out.push({ code, ...where, message });
  };
  const servers = normalizeLive(live);
  const S = table.slotCount;
  if (!isValidSlotCount(S) || !Array.isArray(table.slots) || table.slots.length !== S) {
    add('SHAPE', `slotCount ${String(S)} must be a power of two and match the ${table.slots?.length} slots`);
    return out;
  }
  const alive = new Set(servers);
  const r = Math.min(table.replicas, servers.length);
  const leaders = new Map<string, number>(servers.map((s) => [s, 0]));
  const followers = new Map<string, number>(servers.map((s) => [s, 0]));
  const before = out.length;
  table.slots.forEach((slot, k) => {
    if (slot.id !== k) add('SHAPE', `slot at index ${k} has id ${slot.id}`, { slot: k });
    if (slot.leader === '') {
      if (servers.length > 0)
        add('NO_LEADER', `slot ${k} has no leader while ${servers.length} servers live`, { slot: k });
    } else if (!alive.has(slot.leader)) {
      add('DEAD_LEADER', `slot ${k} is led by ${slot.leader}, which is not live`, { slot: k, server: slot.leader });
    } else leaders.set(slot.leader, (leaders.get(slot.leader) ?? 0) + 1);
    const seen = new Set<string>(slot.leader ? [slot.leader] : []);
    slot.followers.forEach((f, j) => {
      if (seen.has(f)) add('DUPLICATE_REPLICA', `slot ${k} holds ${f} twice`, { slot: k, server: f });
      seen.add(f);
      if (!alive.has(f))
        add('DEAD_FOLLOWER', `slot ${k} is followed by ${f}, which is not live`, { slot: k, server: f });
      else followers.set(f, (followers.get(f) ?? 0) + 1);
      if (j > 0 && !(slot.followers[j - 1] < f))
        add('FOLLOWERS_UNSORTED', `slot ${k} followers are not sorted`, { slot: k });
    });
    if (servers.length > 0 && slot.followers.length !== r - 1) {
      add('REPLICA_COUNT', `slot ${k} has ${slot.followers.length} followers, expected ${r - 1}`, { slot: k });
    }
    if (slot.leaderEpoch > table.epoch) {
      add('LEADER_EPOCH_AHEAD', `slot ${k} leaderEpoch ${slot.leaderEpoch} is above the table epoch ${table.epoch}`, {
        slot: k,
      });
    }
  });
  const prev = context.prev;
  const ready = leaderEligibility(prev, servers, table.replicas, context.caughtUp);
  const isReady = new Map(servers.map((s, i) => [s, ready[i]]));

  if (out.length === before && servers.length > 0) {
    // Leader balance among ready servers, over the slots not held by not-ready (failover-promoted) ones.
    let rest = S;
    let pool = 0;
    for (const s of servers) {
      if (isReady.get(s)) pool++;
      else rest -= leaders.get(s) ?? 0;
    }
    const lo = Math.floor(rest / pool);
    const hi = Math.ceil(rest / pool);
    for (const s of servers) {
      const n = leaders.get(s) ?? 0;
      if (isReady.get(s) && (n < lo || n > hi)) {
        add('LEADER_IMBALANCE', `${s} leads ${n} slots, expected ${lo === hi ? lo : `${lo} or ${hi}`}`, { server: s });
      }
    }
    const counts = servers.map((s) => leaders.get(s) ?? 0);
    const { q } = followerLevel(S, S * (r - 1), counts);
    servers.forEach((s, i) => {
      const cap = S - counts[i];
      const n = followers.get(s) ?? 0;
      const [min, max] = cap <= q ? [cap, cap] : [q, q + 1];
      if (n < min || n > max) {
        add('FOLLOWER_IMBALANCE', `${s} follows ${n} slots, expected ${min === max ? min : `${min} or ${max}`}`, {
          server: s,
        });
      }
    });
  }

  if (prev && prev !== table && prev.slots?.length === S) {
    if (!(table.epoch > prev.epoch)) add('EPOCH_NOT_INCREASING', `epoch ${table.epoch} does not follow ${prev.epoch}`);
    table.slots.forEach((slot, k) => {
      const p = prev.slots[k];
      if (p.leader !== slot.leader) {
        if (!(slot.leaderEpoch > p.leaderEpoch)) {
          add(
            'LEADER_EPOCH_NOT_BUMPED',
            `slot ${k} leader changed but leaderEpoch stayed at or below ${p.leaderEpoch}`,
            { slot: k },
          );
        }
        const promoted = !alive.has(p.leader) && p.followers.includes(slot.leader);
        if (slot.leader && !isReady.get(slot.leader) && !promoted) {
          add('LEADER_NOT_READY', `slot ${k} was given to ${slot.leader}, which is not ready to lead`, {
            slot: k,
            server: slot.leader,
          });
        }
      } else if (slot.leaderEpoch !== p.leaderEpoch) {
        add('LEADER_EPOCH_CHANGED', `slot ${k} kept its leader but leaderEpoch changed`, { slot: k });
      }
      const survivors = [p.leader, ...p.followers].filter((s) => alive.has(s));
      if (r >= 2 && survivors.length > 0 && !survivors.some((s) => s === slot.leader || slot.followers.includes(s))) {
        add('REPLICAS_DROPPED', `slot ${k} no longer holds any of its surviving replicas (${survivors.join(', ')})`, {
          slot: k,
        });
      }
    });
  }
  return out;
}
