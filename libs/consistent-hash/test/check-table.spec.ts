import { type SlotTable, arrange, checkTable, diffTables } from '../src';
import { servers } from './tables';

/** A mutable deep copy of a table, to break on purpose. */
const thaw = (t: SlotTable): SlotTable => JSON.parse(JSON.stringify(t));
const codes = (t: SlotTable, live: string[], ctx = {}) =>
  [...new Set(checkTable(t, live, ctx).map((v) => v.code))].sort();

describe('checkTable', () => {
  const live = servers(5);
  const base = arrange(undefined, live, { slotCount: 32, replicas: 3 });

  it('accepts what arrange returns', () => {
    expect(checkTable(base, live)).toEqual([]);
  });

  it('reports a slot with no leader, a dead leader and a dead follower', () => {
    const t = thaw(base);
    t.slots[0].leader = '';
    t.slots[1].leader = 'gone:1';
    t.slots[2].followers[1] = 'gone:2'; // sorts last: only the death is wrong
    expect(codes(t, live)).toEqual(['DEAD_FOLLOWER', 'DEAD_LEADER', 'NO_LEADER']);
    const v = checkTable(t, live).find((x) => x.code === 'DEAD_FOLLOWER');
    expect(v).toMatchObject({ slot: 2, server: 'gone:2' });
  });

  it('reports duplicate replicas, wrong replica counts, unsorted followers and a leaderEpoch ahead', () => {
    const t = thaw(base);
    t.slots[0].followers = [t.slots[0].leader, t.slots[0].followers[1]].sort();
    t.slots[1].followers = t.slots[1].followers.slice(1);
    t.slots[2].followers = [...t.slots[2].followers].reverse();
    t.slots[3].leaderEpoch = 9;
    expect(codes(t, live)).toEqual(['DUPLICATE_REPLICA', 'FOLLOWERS_UNSORTED', 'LEADER_EPOCH_AHEAD', 'REPLICA_COUNT']);
  });

  it('reports leader and follower imbalance', () => {
    const t = thaw(base);
    // Give every slot led by live[1] to live[0], keeping replicas distinct.
    for (const s of t.slots) {
      if (s.leader === live[1] && !s.followers.includes(live[0])) s.leader = live[0];
    }
    expect(codes(t, live)).toEqual(['LEADER_IMBALANCE']);
  });

  it('reports follower imbalance', () => {
    const t = thaw(base);
    // Hand live[1]'s follower places to live[0] wherever live[0] is not a replica yet.
    for (const s of t.slots) {
      const i = s.followers.indexOf(live[1]);
      if (i >= 0 && s.leader !== live[0] && !s.followers.includes(live[0])) {
        s.followers[i] = live[0];
        s.followers.sort();
      }
    }
    expect(codes(t, live)).toEqual(['FOLLOWER_IMBALANCE']);
  });

  it('checks transitions against prev: epochs, leaderEpoch bumps, promotion, readiness', () => {
    const rest = live.slice(1);
    const next = thaw(arrange(base, rest, { slotCount: 32, replicas: 3 }));
    expect(checkTable(next, rest, { prev: base })).toEqual([]);
    const stale = { ...thaw(next), epoch: base.epoch };
    expect(codes(stale, rest, { prev: base })).toEqual(['EPOCH_NOT_INCREASING', 'LEADER_EPOCH_AHEAD']);
    const changed = diffTables(base, next).leaderChanges[0];
    const unbumped = thaw(next);
    unbumped.slots[changed].leaderEpoch = base.slots[changed].leaderEpoch;
    expect(codes(unbumped, rest, { prev: base })).toContain('LEADER_EPOCH_NOT_BUMPED');
    const kept = next.slots.findIndex((s, k) => s.leader === base.slots[k].leader);
    const bumped = thaw(next);
    bumped.slots[kept].leaderEpoch = next.epoch;
    expect(codes(bumped, rest, { prev: base })).toEqual(['LEADER_EPOCH_CHANGED']);
  });

  it('reports a slot that dropped every surviving replica, and leadership given to a not-ready server', () => {
    const live4 = servers(4);
    const t = arrange(undefined, live4, { slotCount: 8, replicas: 2 });
    const dead = t.slots[0].leader;
    const rest = live4.filter((s) => s !== dead);
    const bad = thaw(arrange(t, rest, { slotCount: 8, replicas: 2 }));
    const survivor = t.slots[0].followers[0];
    const others = rest.filter((s) => s !== survivor);
    bad.slots[0] = { ...bad.slots[0], leader: others[0], leaderEpoch: bad.epoch, followers: [others[1]] };
    expect(codes(bad, rest, { prev: t })).toContain('REPLICAS_DROPPED');
    const X = 'new:1';
    const grown = [...live4, X];
    const forced = thaw(arrange(t, grown, { slotCount: 8, replicas: 2 }));
    const k = forced.slots.findIndex((s) => !s.followers.includes(X));
    forced.slots[k].leader = X;
    forced.slots[k].leaderEpoch = forced.epoch;
    expect(codes(forced, grown, { prev: t })).toContain('LEADER_NOT_READY');
  });

  it('reports a malformed shape without throwing', () => {
    expect(codes({ ...thaw(base), slotCount: 31 }, live)).toEqual(['SHAPE']);
    const t = thaw(base);
    t.slots[3].id = 4;
    expect(codes(t, live)).toContain('SHAPE');
  });
});

describe('diffTables', () => {
  it('counts a swap of leader and follower as leader changes, not copies', () => {
    const a: SlotTable = {
      epoch: 1,
      slotCount: 2,
      replicas: 2,
      slots: [
        { id: 0, leader: 'a', leaderEpoch: 1, followers: ['b'] },
        { id: 1, leader: 'b', leaderEpoch: 1, followers: ['a'] },
      ],
    };
    const b: SlotTable = {
      epoch: 2,
      slotCount: 2,
      replicas: 2,
      slots: [
        { id: 0, leader: 'b', leaderEpoch: 2, followers: ['a'] },
        { id: 1, leader: 'b', leaderEpoch: 1, followers: ['c'] },
      ],
    };
    const d = diffTables(a, b);
    expect(d.leaderChanges).toEqual([0]);
    expect(d.replicasAdded).toBe(1);
    expect(d.replicasRemoved).toBe(1);
    expect(Object.keys(d.servers)).toEqual(['a', 'b', 'c']);
    expect(d.servers['a']).toEqual({
      leadersGained: [],
      leadersLost: [0],
      followersGained: [0],
      followersLost: [1],
      replicasAdded: [],
      replicasRemoved: [1],
    });
    expect(d.servers['b']).toEqual({
      leadersGained: [0],
      leadersLost: [],
      followersGained: [],
      followersLost: [0],
      replicasAdded: [],
      replicasRemoved: [],
    });
    expect(d.servers['c']).toEqual({
      leadersGained: [],
      leadersLost: [],
      followersGained: [1],
      followersLost: [],
      replicasAdded: [1],
      replicasRemoved: [],
    });
  });

  it('diffs from nothing: every replica is a copy', () => {
    const t = arrange(undefined, servers(4), { slotCount: 16, replicas: 2 });
    const d = diffTables(undefined, t);
    expect(d.replicasAdded).toBe(32);
    expect(d.leaderChanges).toHaveLength(16);
  });
});
