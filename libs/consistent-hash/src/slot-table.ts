import { ConsistentHashError } from './errors';
import { assertSlotCount } from './slot-function';

/**
 * One slot's replicas: the data server that leads it and those that follow it. Same shape as the
 * `SlotReplica` message of `libs/contracts` (this lib stays free of that dependency).
 */
export interface SlotReplica {
  /** The slot number, 0 .. slotCount-1; equal to the slot's index in `SlotTable.slots`. */
  id: number;
  /** The leading data server (`host:port`), or `''` when no data server is live. */
  leader: string;
  /**
   * Fencing number of the current leadership: strictly increases whenever `leader` changes. `arrange`
   * sets it to the table epoch in which the leadership began (so `leaderEpoch <= epoch`).
   */
  leaderEpoch: number;
  /** The following data servers, sorted, all distinct and different from `leader`. */
  followers: string[];
}

/**
 * An immutable, epoch-versioned assignment of slots to data servers. Same shape as the `SlotTable`
 * message of `libs/contracts`. Tables returned by `arrange` are deeply frozen.
 */
export interface SlotTable {
  /** Increases by one with every new table; the first is 1. */
  epoch: number;
  /** A power of two, fixed per cluster. */
  slotCount: number;
  /** Configured replicas per slot (leader included); a table holds min(replicas, live servers). */
  replicas: number;
  /** `slots[i].id === i`. */
  slots: SlotReplica[];
}

/** The largest `replicas` accepted. */
export const MAX_REPLICAS = 16;

/** Options of `arrange` and `checkTable`. */
export interface ArrangeOptions {
  /** Slots of the cluster: a power of two from 1 to 65536; must equal `prev.slotCount`. */
  slotCount: number;
  /** Replicas per slot, leader included: an integer from 1 to 16, capped at the number of live servers. */
  replicas: number;
  /**
   * Servers that have synced the slots they follow and are ready to lead. When given, it decides which
   * servers may take leaderships (besides those already leading); when absent, a server becomes ready
   * after one table as a follower. See `leaderEligible`.
   */
  caughtUp?: ReadonlySet<string>;
}

export function validateOptions(opts: ArrangeOptions): void {
  if (opts === null || typeof opts !== 'object') {
    throw new ConsistentHashError('INVALID_SLOT_COUNT', 'opts', 'opts must be an object with slotCount and replicas');
  }
  assertSlotCount(opts.slotCount, 'opts.slotCount', 'INVALID_SLOT_COUNT');
  const r = opts.replicas;
  if (!Number.isInteger(r) || r < 1 || r > MAX_REPLICAS) {
    throw new ConsistentHashError(
      'INVALID_REPLICAS',
      'opts.replicas',
      `opts.replicas must be an integer from 1 to ${MAX_REPLICAS}, got ${String(r)}`,
    );
  }
}

/**
 * The live servers, validated, without duplicates, sorted by code unit (locale independent), which is
 * what makes every result independent of the input order.
 */
export function normalizeLive(live: readonly string[]): string[] {
  if (!Array.isArray(live))
    throw new ConsistentHashError('INVALID_LIVE', 'live', 'live must be an array of server ids');
  live.forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0) {
      throw new ConsistentHashError(
        'INVALID_LIVE',
        `live[${i}]`,
        `live[${i}] must be a non-empty server id, got ${JSON.stringify(s)}`,
      );
    }
  });
  return [...new Set(live)].sort(compareIds);
}

/** Code-unit order of server ids (what `Array.prototype.sort` does by default), as a comparator. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Throws `INVALID_PREV` unless `prev` is a well-formed table of `slotCount` slots. */
export function validatePrev(prev: SlotTable, slotCount: number): void {
  const fail = (field: string, what: string): never => {
    throw new ConsistentHashError('INVALID_PREV', `prev.${field}`, `prev.${field} ${what}`);
  };
  if (prev === null || typeof prev !== 'object') fail('', 'must be a slot table or undefined');
  if (!Number.isInteger(prev.epoch) || prev.epoch < 0)
    fail('epoch', `must be a non-negative integer, got ${String(prev.epoch)}`);
  if (prev.slotCount !== slotCount) {
    fail(
      'slotCount',
      `is ${String(prev.slotCount)} but opts.slotCount is ${slotCount}: the slot count is fixed per cluster`,
    );
  }
  if (!Array.isArray(prev.slots) || prev.slots.length !== slotCount) fail('slots', `must hold ${slotCount} slots`);
  prev.slots.forEach((s, i) => {
    if (s === null || typeof s !== 'object' || s.id !== i) fail(`slots[${i}].id`, `must be ${i}`);
    if (typeof s.leader !== 'string') fail(`slots[${i}].leader`, 'must be a string');
    if (!Number.isInteger(s.leaderEpoch) || s.leaderEpoch < 0)
      fail(`slots[${i}].leaderEpoch`, 'must be a non-negative integer');
    if (!Array.isArray(s.followers) || s.followers.some((f) => typeof f !== 'string' || f === '')) {
      fail(`slots[${i}].followers`, 'must be an array of server ids');
    }
  });
}

/**
 * The live servers that may be given leaderships by balancing, sorted (failover promotion of a slot's
 * own follower is always allowed). The rule, applied to each live server `s`:
 *
 * - `s` leads some slot in `prev`: ready (it is serving already);
 * - otherwise, when `opts.caughtUp` is given: ready iff `caughtUp.has(s)`;
 * - otherwise, ready iff `s` follows some slot in `prev` (it has been a follower for one table), or
 *   there are no followers at all (effective replicas 1: nothing to warm up, the new leader rebuilds the
 *   slot from the sessions).
 *
 * When `prev` is undefined, or no live server is ready by the rule, every live server is ready.
 * @throws ConsistentHashError `INVALID_LIVE` (and `INVALID_REPLICAS` for a bad `opts.replicas`).
 */
export function readyToLead(
  prev: SlotTable | undefined,
  live: readonly string[],
  opts: Pick<ArrangeOptions, 'replicas' | 'caughtUp'>,
): string[] {
  const servers = normalizeLive(live);
  if (!Number.isInteger(opts.replicas) || opts.replicas < 1 || opts.replicas > MAX_REPLICAS) {
    throw new ConsistentHashError(
      'INVALID_REPLICAS',
      'opts.replicas',
      `opts.replicas must be an integer from 1 to ${MAX_REPLICAS}, got ${String(opts.replicas)}`,
    );
  }
  const flags = leaderEligibility(prev, servers, opts.replicas, opts.caughtUp);
  return servers.filter((_, i) => flags[i]);
}

/**
 * `readyToLead` on normalized servers (see `normalizeLive`): one flag per entry of `live`.
 */
export function leaderEligibility(
  prev: SlotTable | undefined,
  live: readonly string[],
  replicas: number,
  caughtUp: ReadonlySet<string> | undefined,
): boolean[] {
  const leads = new Set<string>();
  const follows = new Set<string>();
  for (const slot of prev?.slots ?? []) {
    if (slot.leader) leads.add(slot.leader);
    for (const f of slot.followers) follows.add(f);
  }
  const effective = Math.min(replicas, live.length);
  const flags = live.map((s) =>
    !prev ? true : leads.has(s) || (caughtUp ? caughtUp.has(s) : follows.has(s) || effective === 1),
  );
  return flags.some(Boolean) ? flags : live.map(() => true);
}

/**
 * Follower bounds given each server's leader count (shared by `arrange` and `checkTable`): the integer
 * water level `q` such that every server
 * `s` with room `cap(s) = slotCount - leaders(s)` at or below `q` follows exactly `cap(s)` slots, and
 * every other follows `q` or `q + 1`. Exactly `extra` servers follow `q + 1`.
 */
export function followerLevel(
  slotCount: number,
  followerTotal: number,
  leaderCounts: ArrayLike<number>,
): { q: number; extra: number } {
  let lo = 0;
  let hi = slotCount;
  const fill = (q: number): number => {
    let sum = 0;
    for (let i = 0; i < leaderCounts.length; i++) sum += Math.min(slotCount - leaderCounts[i], q);
    return sum;
  };
  // Largest q with fill(q) <= followerTotal.
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (fill(mid) <= followerTotal) lo = mid;
    else hi = mid - 1;
  }
  return { q: lo, extra: followerTotal - fill(lo) };
}
