import type { SlotTable } from '@sofareg/consistent-hash';

/** The slots one server holds in a table, each list ascending. */
export interface SlotRoles {
  /** Slots it leads. */
  leads: number[];
  /** Slots it follows. */
  follows: number[];
}

/**
 * Whether `next` may replace `current`: only a strictly newer epoch does (tables are immutable per epoch, so an
 * equal epoch is the same table and an older one is stale).
 */
export function isNewerTable(current: SlotTable | undefined, next: SlotTable): boolean {
  return next.epoch > (current?.epoch ?? 0);
}

/** A deeply frozen copy of a table: holders of the ring's table can neither change it nor see it change. */
export function frozenTable(table: SlotTable): SlotTable {
  const slots = table.slots.map(({ id, leader, leaderEpoch, followers }) =>
    Object.freeze({ id, leader, leaderEpoch, followers: Object.freeze([...followers]) }),
  );
  return Object.freeze({
    epoch: table.epoch,
    slotCount: table.slotCount,
    replicas: table.replicas,
    slots: Object.freeze(slots),
  }) as SlotTable;
}

/** The server leading `slot`, or undefined without a table, for a slot out of range, or while nobody leads it. */
export function leaderOfSlot(table: SlotTable | undefined, slot: number): string | undefined {
  return table?.slots[slot]?.leader || undefined;
}

/** The servers following `slot` (empty without a table or for a slot out of range). */
export function followersOfSlot(table: SlotTable | undefined, slot: number): readonly string[] {
  return table?.slots[slot]?.followers ?? [];
}

/** Every server holding `slot`: its leader first (when it has one), then its followers. */
export function replicasOfSlot(table: SlotTable | undefined, slot: number): string[] {
  const leader = leaderOfSlot(table, slot);
  const followers = followersOfSlot(table, slot);
  return leader ? [leader, ...followers] : [...followers];
}

/** The slots `address` leads and follows in `table` (both empty without a table). */
export function rolesOf(table: SlotTable | undefined, address: string): SlotRoles {
  const roles: SlotRoles = { leads: [], follows: [] };
  for (const slot of table?.slots ?? []) {
    if (slot.leader === address) roles.leads.push(slot.id);
    else if (slot.followers.includes(address)) roles.follows.push(slot.id);
  }
  return roles;
}
