import { type SlotTable, arrange, slotOf } from '@sofareg/consistent-hash';
import { HashRing } from './hash-ring.service';

const live = ['d1:9620', 'd2:9620', 'd3:9620'];

describe('HashRing', () => {
  it('routes by the configured slot count before any table, then by the table', () => {
    const ring = new HashRing({ slots: 16, replicas: 2 });
    expect(ring.epoch).toBe(0);
    expect(ring.table).toBeUndefined();
    expect(ring.slotOf('app#@#i#@#g')).toBe(slotOf('app#@#i#@#g', 16));
    expect(ring.leaderOf(0)).toBeUndefined();
    ring.update(ring.arrange(undefined, live));
    expect(ring.slotOf('app#@#i#@#g')).toBe(slotOf('app#@#i#@#g', 16));
    const slot = ring.slotOf('app#@#i#@#g');
    expect(ring.replicasOf(slot)).toEqual([ring.leaderOf(slot), ...ring.followersOf(slot)]);
  });

  it('arranges with its configured slots and replicas, without making the result current', () => {
    const ring = new HashRing({ slots: 32, replicas: 3 });
    const next = ring.arrange(undefined, live);
    expect(next).toEqual(arrange(undefined, live, { slotCount: 32, replicas: 3 }));
    expect(ring.table).toBeUndefined();
  });

  it('accepts only newer tables and tells each accepted one to subscribers, the current one first', () => {
    const ring = new HashRing({ slots: 8 });
    const t1 = ring.arrange(undefined, live);
    const t2 = ring.arrange(t1, [...live, 'd4:9620']);
    const seen: number[] = [];
    ring.changes.subscribe((t) => seen.push(t.epoch));
    expect(ring.update(t1)).toBe(true);
    expect(ring.update(t2)).toBe(true);
    expect(ring.update(t1)).toBe(false);
    expect(ring.update({ ...t2 })).toBe(false);
    expect(ring.epoch).toBe(t2.epoch);
    const late: SlotTable[] = [];
    ring.changes.subscribe((t) => late.push(t));
    expect(seen).toEqual([t1.epoch, t2.epoch]);
    expect(late.map((t) => t.epoch)).toEqual([t2.epoch]);
    expect(Object.isFrozen(late[0])).toBe(true);
  });

  it('tells a data server which slots it leads and follows', () => {
    const ring = new HashRing({ slots: 8, replicas: 2 });
    ring.update(ring.arrange(undefined, live));
    const all = live.map((server) => ring.rolesOf(server));
    expect(all.flatMap((r) => r.leads).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(all.flatMap((r) => r.follows)).toHaveLength(8);
  });

  it('refuses options out of range, naming the option', () => {
    expect(() => new HashRing({ slots: 100 })).toThrow(/slots must be a power of two/);
    expect(() => new HashRing({ replicas: 0 })).toThrow(/replicas must be an integer from 1 to 16/);
  });
});
