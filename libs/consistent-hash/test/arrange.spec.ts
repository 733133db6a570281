import { type SlotTable, arrange, checkTable, diffTables, readyToLead } from '../src';
import { Prng, seedFor } from './prng';
import { counts, get, server, servers } from './tables';

const opts = (slotCount = 256, replicas = 2) => ({ slotCount, replicas });

function expectClean(t: SlotTable, live: readonly string[], context = {}) {
  expect(checkTable(t, live, context)).toEqual([]);
}

function deepFrozen(t: SlotTable): boolean {
  return (
    Object.isFrozen(t) &&
    Object.isFrozen(t.slots) &&
    t.slots.every((s) => Object.isFrozen(s) && Object.isFrozen(s.followers))
  );
}

describe('arrange: a first table', () => {
  it.each([
    [256, 2, 5],
    [256, 3, 20],
    [256, 1, 7],
    [64, 3, 3],
    [16, 2, 40], // more servers than slots
    [1, 2, 3],
    [65536, 2, 10],
  ])('slots %i, replicas %i, %i servers: balanced, frozen, epoch 1, followers sorted', (S, R, N) => {
    const live = servers(N);
    const t = arrange(undefined, live, opts(S, R));
    expect(t.epoch).toBe(1);
    expect(t.slotCount).toBe(S);
    expect(t.replicas).toBe(R);
    expect(deepFrozen(t)).toBe(true);
    expect(t.slots.every((s, i) => s.id === i && s.leaderEpoch === 1)).toBe(true);
    expectClean(t, live);
    const c = counts(t, live);
    const leaders = live.map((s) => get(c.leaders, s));
    expect(Math.max(...leaders) - Math.min(...leaders)).toBeLessThanOrEqual(1);
  });

  it('caps replicas at the number of live servers', () => {
    const live = servers(2);
    const t = arrange(undefined, live, opts(256, 3));
    expect(t.replicas).toBe(3);
    expect(t.slots.every((s) => s.followers.length === 1)).toBe(true);
    expectClean(t, live);
  });

  it("leaves every slot without leader ('', leaderEpoch 0) when no server lives, and fills it later", () => {
    const empty = arrange(undefined, [], opts(8, 2));
    expect(empty.slots.every((s) => s.leader === '' && s.followers.length === 0 && s.leaderEpoch === 0)).toBe(true);
    expect(checkTable(empty, [])).toEqual([]);
    expect(arrange(empty, [], opts(8, 2))).toBe(empty);
    const live = servers(3);
    const t = arrange(empty, live, opts(8, 2));
    expect(t.epoch).toBe(2);
    expect(t.slots.every((s) => s.leaderEpoch === 2)).toBe(true);
    expectClean(t, live, { prev: empty });
  });
});

describe('arrange: stability and determinism', () => {
  it('returns prev itself when nothing needs to change, whatever the order or duplicates of live', () => {
    const live = servers(10);
    const t = arrange(undefined, live, opts());
    expect(arrange(t, live, opts())).toBe(t);
    expect(arrange(t, [...live].reverse(), opts())).toBe(t);
    expect(arrange(t, [...live, ...live], opts())).toBe(t);
    expect(arrange(t, live, { ...opts(), caughtUp: new Set(live) })).toBe(t);
  });

  it('gives the same table for the same inputs in any order', () => {
    const rnd = new Prng(seedFor('arrange determinism', 77));
    const live = servers(12);
    let t = arrange(undefined, live, opts());
    for (let step = 0; step < 20; step++) {
      const next = rnd.shuffle(live).slice(0, 6 + rnd.int(6));
      const a = arrange(t, next, opts());
      const b = arrange(t, rnd.shuffle(next), opts());
      expect(b).toEqual(a);
      t = a;
    }
  });

  it('settles: after a membership change, arranging again reaches a fixed point within two tables', () => {
    const live = servers(8);
    const t = arrange(undefined, live, opts());
    const grown = [...live, server(100)];
    const t1 = arrange(t, grown, opts());
    const t2 = arrange(t1, grown, opts());
    expect(arrange(t2, grown, opts())).toBe(t2);
  });

  it('keeps leaderEpoch where the leader stays and sets it to the new epoch where it changes', () => {
    const live = servers(6);
    const t = arrange(undefined, live, opts());
    const u = arrange(t, live.slice(1), opts());
    expect(u.epoch).toBe(2);
    u.slots.forEach((s, k) => {
      expect(s.leaderEpoch).toBe(s.leader === t.slots[k].leader ? t.slots[k].leaderEpoch : 2);
    });
    expectClean(u, live.slice(1), { prev: t });
  });
});

describe('arrange: failover', () => {
  it("promotes the dead leader's follower in every slot it led (replicas 2)", () => {
    const live = servers(10);
    const t = arrange(undefined, live, opts());
    const dead = live[4];
    const rest = live.filter((s) => s !== dead);
    const u = arrange(t, rest, opts());
    t.slots.forEach((s, k) => {
      if (s.leader === dead) expect(u.slots[k].leader).toBe(s.followers[0]);
    });
    expectClean(u, rest, { prev: t });
  });

  it('promotes, with replicas 3, the follower leading fewest slots', () => {
    const live = servers(6);
    const t = arrange(undefined, live, opts(256, 3));
    const dead = live[0];
    const rest = live.filter((s) => s !== dead);
    const u = arrange(t, rest, opts(256, 3));
    t.slots.forEach((s, k) => {
      if (s.leader === dead) expect(s.followers).toContain(u.slots[k].leader);
    });
    expectClean(u, rest, { prev: t });
  });

  it('finds a leader for slots that lost every replica', () => {
    const live = servers(4);
    const t = arrange(undefined, live, opts(64, 2));
    const rest = [live[0], live[1]];
    const u = arrange(t, rest, opts(64, 2));
    expect(u.slots.every((s) => rest.includes(s.leader))).toBe(true);
    expectClean(u, rest, { prev: t });
    const fresh = servers(3, 50);
    const v = arrange(u, fresh, opts(64, 2)); // every old server died at once
    expect(v.slots.every((s) => fresh.includes(s.leader))).toBe(true);
    expectClean(v, fresh, { prev: u });
  });
});

describe('arrange: a joining server follows before it leads', () => {
  const live = servers(10);
  const X = server(200);
  const grown = [...live, X];

  it('without caughtUp: first table gives it followers only, the next its leaderships', () => {
    const t = arrange(undefined, live, opts());
    const t1 = arrange(t, grown, opts());
    const c1 = counts(t1, grown);
    expect(get(c1.leaders, X)).toBe(0);
    expect(get(c1.followers, X)).toBeGreaterThanOrEqual(Math.floor(256 / 11));
    expect(diffTables(t, t1).leaderChanges).toEqual([]);
    expectClean(t1, grown, { prev: t });
    const t2 = arrange(t1, grown, opts());
    const c2 = counts(t2, grown);
    expect([23, 24]).toContain(get(c2.leaders, X));
    // Every leadership X gained is a promotion: X followed those slots.
    for (const k of diffTables(t1, t2).servers[X].leadersGained) expect(t1.slots[k].followers).toContain(X);
    expectClean(t2, grown, { prev: t1 });
  });

  it('with caughtUp: leads only once caughtUp says so, and the table stays put meanwhile', () => {
    const ready = new Set(live);
    const t = arrange(undefined, live, opts());
    const t1 = arrange(t, grown, { ...opts(), caughtUp: ready });
    const t2 = arrange(t1, grown, { ...opts(), caughtUp: ready });
    expect(t2).toBe(t1);
    expect(get(counts(t2, grown).leaders, X)).toBe(0);
    expectClean(t2, grown, { prev: t1, caughtUp: ready });
    const t3 = arrange(t2, grown, { ...opts(), caughtUp: new Set(grown) });
    expect(get(counts(t3, grown).leaders, X)).toBeGreaterThanOrEqual(23);
    expectClean(t3, grown, { prev: t2, caughtUp: new Set(grown) });
  });

  it('with caughtUp including it at once: it leads in the first table', () => {
    const t = arrange(undefined, live, opts());
    const t1 = arrange(t, grown, { ...opts(), caughtUp: new Set(grown) });
    expect(get(counts(t1, grown).leaders, X)).toBeGreaterThanOrEqual(23);
    expectClean(t1, grown, { prev: t, caughtUp: new Set(grown) });
  });

  it('with one replica (nothing to follow): it leads at once unless caughtUp holds it back', () => {
    const t = arrange(undefined, live, opts(256, 1));
    const t1 = arrange(t, grown, opts(256, 1));
    expect(get(counts(t1, grown).leaders, X)).toBeGreaterThanOrEqual(23);
    expectClean(t1, grown, { prev: t });
    const held = arrange(t, grown, { ...opts(256, 1), caughtUp: new Set(live) });
    expect(held).toBe(t);
  });

  it("a not-ready follower is still promoted when it is a dead leader's only follower", () => {
    const t = arrange(undefined, live, opts());
    const ready = new Set(live);
    const t1 = arrange(t, grown, { ...opts(), caughtUp: ready });
    const victim = t1.slots.find((s) => s.followers.includes(X))?.leader ?? '';
    const rest = grown.filter((s) => s !== victim);
    const t2 = arrange(t1, rest, { ...opts(), caughtUp: ready });
    const promoted = t1.slots.filter((s) => s.leader === victim && s.followers[0] === X).length;
    expect(promoted).toBeGreaterThan(0);
    expect(get(counts(t2, rest).leaders, X)).toBe(promoted); // only the promotions, nothing by balancing
    expectClean(t2, rest, { prev: t1, caughtUp: ready });
  });
});

describe('readyToLead', () => {
  it('tells who may take leaderships: leaders, then caughtUp or one table as follower', () => {
    const live = servers(4);
    const X = server(200);
    const grown = [...live, X];
    expect(readyToLead(undefined, grown, { replicas: 2 })).toEqual([...grown].sort());
    const t = arrange(undefined, live, opts());
    expect(readyToLead(t, grown, { replicas: 2 })).toEqual([...live].sort());
    const t1 = arrange(t, grown, opts());
    expect(readyToLead(t1, grown, { replicas: 2 })).toEqual([...grown].sort());
    expect(readyToLead(t1, grown, { replicas: 2, caughtUp: new Set() })).toEqual([...live].sort());
    expect(readyToLead(t, grown, { replicas: 2, caughtUp: new Set([X]) })).toEqual([...grown].sort());
    expect(readyToLead(t, grown, { replicas: 1 })).toEqual([...grown].sort()); // nothing to warm up
    expect(() => readyToLead(t, [''], { replicas: 2 })).toThrow(expect.objectContaining({ code: 'INVALID_LIVE' }));
  });
});

describe('arrange: replicas change', () => {
  it('adds a follower to every slot when replicas grow, without moving leaders', () => {
    const live = servers(8);
    const t = arrange(undefined, live, opts(256, 2));
    const u = arrange(t, live, opts(256, 3));
    expect(diffTables(t, u).leaderChanges).toEqual([]);
    expect(diffTables(t, u).replicasAdded).toBe(256);
    expect(diffTables(t, u).replicasRemoved).toBe(0);
    expectClean(u, live, { prev: t });
  });

  it('drops followers when replicas shrink, without moving leaders or copying', () => {
    const live = servers(8);
    const t = arrange(undefined, live, opts(256, 3));
    const u = arrange(t, live, opts(256, 1));
    expect(diffTables(t, u)).toMatchObject({ leaderChanges: [], replicasAdded: 0, replicasRemoved: 512 });
    expectClean(u, live, { prev: t });
  });
});

describe('arrange: invalid arguments', () => {
  const live = servers(3);
  const t = arrange(undefined, live, opts(8, 2));
  it.each([
    ['slotCount 6', () => arrange(undefined, live, opts(6, 2)), 'INVALID_SLOT_COUNT', 'opts.slotCount'],
    ['slotCount 131072', () => arrange(undefined, live, opts(131072, 2)), 'INVALID_SLOT_COUNT', 'opts.slotCount'],
    ['replicas 0', () => arrange(undefined, live, opts(8, 0)), 'INVALID_REPLICAS', 'opts.replicas'],
    ['replicas 1.5', () => arrange(undefined, live, opts(8, 1.5)), 'INVALID_REPLICAS', 'opts.replicas'],
    ['an empty server id', () => arrange(undefined, ['a', ''], opts(8, 2)), 'INVALID_LIVE', 'live[1]'],
    ['live not an array', () => arrange(undefined, 'a' as unknown as string[], opts(8, 2)), 'INVALID_LIVE', 'live'],
    ['a different slot count than prev', () => arrange(t, live, opts(16, 2)), 'INVALID_PREV', 'prev.slotCount'],
    [
      'prev missing a slot',
      () => arrange({ ...t, slots: t.slots.slice(1) }, live, opts(8, 2)),
      'INVALID_PREV',
      'prev.slots',
    ],
    [
      'prev slots out of order',
      () => arrange({ ...t, slots: [...t.slots].reverse() }, live, opts(8, 2)),
      'INVALID_PREV',
      'prev.slots[0].id',
    ],
  ])('%s: throws %s naming %s', (_name, call, code, field) => {
    expect(call).toThrow(expect.objectContaining({ code, field }));
  });
});
