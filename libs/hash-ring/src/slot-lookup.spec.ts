import { type SlotTable, arrange } from '@sofareg/consistent-hash';
import { followersOfSlot, frozenTable, isNewerTable, leaderOfSlot, replicasOfSlot, rolesOf } from './slot-lookup';

const table = (epoch: number, slots: [string, string[]][]): SlotTable => ({
  epoch,
  slotCount: slots.length,
  replicas: 2,
  slots: slots.map(([leader, followers], id) => ({ id, leader, leaderEpoch: epoch, followers })),
});

describe('slot lookups', () => {
  const t = table(3, [
    ['a', ['b']],
    ['b', ['a']],
    ['', ['c']],
    ['a', []],
  ]);

  it('accepts only a strictly newer epoch', () => {
    expect(isNewerTable(undefined, t)).toBe(true);
    expect(isNewerTable(t, table(3, []))).toBe(false);
    expect(isNewerTable(t, table(2, []))).toBe(false);
    expect(isNewerTable(t, table(4, []))).toBe(true);
  });

  it('finds the leader, the followers and every replica of a slot, leader first', () => {
    expect(leaderOfSlot(t, 1)).toBe('b');
    expect(followersOfSlot(t, 1)).toEqual(['a']);
    expect(replicasOfSlot(t, 1)).toEqual(['b', 'a']);
  });

  it('has no leader for a leaderless slot, a slot out of range, or before any table', () => {
    expect(leaderOfSlot(t, 2)).toBeUndefined();
    expect(replicasOfSlot(t, 2)).toEqual(['c']);
    expect(leaderOfSlot(t, 9)).toBeUndefined();
    expect(followersOfSlot(t, 9)).toEqual([]);
    expect(replicasOfSlot(undefined, 0)).toEqual([]);
  });

  it('lists the slots a server leads and follows', () => {
    expect(rolesOf(t, 'a')).toEqual({ leads: [0, 3], follows: [1] });
    expect(rolesOf(t, 'c')).toEqual({ leads: [], follows: [2] });
    expect(rolesOf(undefined, 'a')).toEqual({ leads: [], follows: [] });
  });

  it('agrees with arrange: every live server holds exactly the slots the table gives it', () => {
    const live = ['d1:9620', 'd2:9620', 'd3:9620'];
    const opts = { slotCount: 64, replicas: 2 };
    const arranged = arrange(arrange(undefined, live, opts), live, opts);
    let held = 0;
    for (const server of live) {
      const { leads, follows } = rolesOf(arranged, server);
      for (const slot of leads) expect(leaderOfSlot(arranged, slot)).toBe(server);
      for (const slot of follows) expect(followersOfSlot(arranged, slot)).toContain(server);
      held += leads.length + follows.length;
    }
    const replicas = arranged.slots.reduce((n, s) => n + replicasOfSlot(arranged, s.id).length, 0);
    expect(held).toBe(replicas);
  });

  it('freezes a copy, leaving the given table as it was', () => {
    const given = table(1, [['a', ['b']]]);
    const frozen = frozenTable(given);
    expect(frozen).toEqual(given);
    expect(Object.isFrozen(frozen.slots[0].followers)).toBe(true);
    expect(() => (frozen.slots[0].followers as string[]).push('c')).toThrow(TypeError);
    given.slots[0].followers.push('c');
    expect(frozen.slots[0].followers).toEqual(['b']);
  });
});
