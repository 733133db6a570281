import type { FetchSlotPublishersResponse, Publisher, SlotTable, WriteOp } from '@sofareg/contracts';
import { slotOf } from '@sofareg/consistent-hash';
import { DataServerCore } from './data-server-core';
import type { Effects } from './effects';

const SLOTS = 4;
const A = 'a:1';
const B = 'b:1';
const C = 'c:1';
const S1 = 's1:1';
const S2 = 's2:1';

/** A table where every slot is led by `leader` and followed by `followers`. */
function table(epoch: number, leader: string, followers: string[] = [], leaderEpoch = epoch): SlotTable {
  return {
    epoch,
    slotCount: SLOTS,
    replicas: followers.length + 1,
    slots: Array.from({ length: SLOTS }, (_, id) => ({ id, leader, leaderEpoch, followers })),
  };
}

function core(self: string): DataServerCore {
  return new DataServerCore({ self, dataCenter: 'dc', maxLogPerSlot: 100, maxOpsPerSlot: 50, sessionGraceMs: 5_000 });
}

let ts = 0;
function pub(dataInfoId: string, registerId: string, session = S1, extra: Partial<Publisher> = {}): Publisher {
  return {
    dataInfoId,
    registerId,
    dataList: [registerId],
    zone: 'z',
    appName: '',
    clientId: '',
    processId: '',
    connectId: `${session}-conn`,
    sessionProcessId: '',
    sessionAddress: session,
    version: 1,
    registerTimestamp: ++ts,
    clientIp: '',
    ...extra,
  };
}
const publish = (p: Publisher): WriteOp => ({ op: { $case: 'publish', value: p } });

function page(
  publishers: Publisher[],
  snapshotTime: number,
  extra: Partial<FetchSlotPublishersResponse> = {},
): FetchSlotPublishersResponse {
  return { publishers, lastDataInfoId: '', done: true, sessionProcessId: '', snapshotTime, versions: [], ...extra };
}

/** Completes every sync task with what each session holds. */
function syncAll(c: DataServerCore, fx: Effects, held: Record<string, Publisher[]>, now = 1_000): Effects {
  let pending = fx.sync;
  const all: Effects = {
    notify: new Map(fx.notify),
    sync: [],
    snapshots: [...fx.snapshots],
    replicateTo: new Set(fx.replicateTo),
    backoff: new Set(fx.backoff),
  };
  while (pending.length > 0) {
    const next = [];
    for (const t of pending) {
      const mine = (held[t.session] ?? []).filter((p) => slotOf(p.dataInfoId, SLOTS) === t.slotId);
      const out = c.onSyncPage(t, page(mine, ++ts), now);
      for (const [k, v] of out.notify) all.notify.set(k, v);
      next.push(...out.sync);
    }
    pending = next;
  }
  return all;
}

/** Moves ops from leader to follower until nothing is left. */
function replicateAll(leader: DataServerCore, follower: DataServerCore, followerAddress: string): void {
  for (let i = 0; i < 100; i++) {
    const req = leader.replicationBatch(followerAddress);
    if (!req) return;
    const { res, fx } = follower.onReplicate(req);
    for (const t of fx.snapshots)
      follower.onSnapshot(
        t,
        leader.snapshot({ slotId: t.slotId, leaderEpoch: t.leaderEpoch, follower: followerAddress }),
      );
    leader.onReplicateResponse(followerAddress, req, res);
  }
  throw new Error('replication did not settle');
}

/** A synced leader A of every slot (session S1 holds nothing) and B, to follow it under table 1. */
function leaderAndFollower(): { a: DataServerCore; b: DataServerCore; t1: SlotTable } {
  const a = core(A);
  const b = core(B);
  for (const c of [a, b]) c.onSessions([S1], 0);
  const t1 = table(1, A, [B]);
  syncAll(a, a.onSlotTable(t1, 0), {});
  return { a, b, t1 };
}

/** B takes the table and installs A's snapshot of every slot. */
function installSnapshots(a: DataServerCore, b: DataServerCore, t1: SlotTable): void {
  for (const t of b.onSlotTable(t1, 0).snapshots)
    b.onSnapshot(t, a.snapshot({ slotId: t.slotId, leaderEpoch: t.leaderEpoch, follower: B }));
}

describe('DataServerCore', () => {
  it('a new leader takes writes at once but serves reads only after syncing every live session', () => {
    const a = core(A);
    a.onSessions([S1, S2], 0);
    const fx = a.onSlotTable(table(1, A), 0);
    expect(fx.sync).toHaveLength(SLOTS * 2);
    const p = pub('svc-1', 'r1');
    expect(a.write([publish(p)], 1, 1).results[0].ok).toBe(true);
    expect(a.read('svc-1')).toMatchObject({ error: { code: 'NotReady' } });
    syncAll(a, fx, { [S1]: [p], [S2]: [] });
    const r = a.read('svc-1');
    expect('datum' in r && r.datum.publishers.map((x) => x.registerId)).toEqual(['r1']);
  });

  it('refuses writes and reads of slots it does not lead, naming the leader', () => {
    const b = core(B);
    b.onSessions([], 0);
    b.onSlotTable(table(1, A, [B]), 0);
    expect(b.write([publish(pub('x', 'r'))], 1, 1).results[0]).toMatchObject({
      ok: false,
      error: { code: 'SlotMoved', leader: A },
    });
    expect(b.read('x')).toMatchObject({ error: { code: 'SlotMoved', leader: A } });
  });

  it('a sync page replaces what that session had registered before the page was read', () => {
    const a = core(A);
    a.onSessions([S1], 0);
    syncAll(a, a.onSlotTable(table(1, A), 0), {});
    const stale = pub('svc-2', 'gone');
    const kept = pub('svc-2', 'kept');
    const other = pub('svc-2', 'other', S2);
    a.onSessions([S1, S2], 1);
    a.write([publish(stale), publish(kept), publish(other)], 1, 2);
    const snapshotTime = ++ts;
    const later = pub('svc-2', 'later'); // registered after the page was read: not in it, must stay
    a.write([publish(later)], 1, 3);
    const slotId = slotOf('svc-2', SLOTS);
    a.onSyncPage({ session: S1, slotId, leaderEpoch: 1, after: '' }, page([kept], snapshotTime), 4);
    const r = a.read('svc-2');
    expect('datum' in r && r.datum.publishers.map((x) => x.registerId).sort()).toEqual(['kept', 'later', 'other']);
  });

  it('a closed connection cannot come back through a late write or an old sync page', () => {
    const a = core(A);
    a.onSessions([S1], 0);
    syncAll(a, a.onSlotTable(table(1, A), 0), {});
    const p = pub('svc-3', 'r1');
    a.write([publish(p)], 1, 1);
    const snapshotTime = ++ts;
    a.clientOff(S1, new Set([p.connectId]), 2);
    expect(a.write([publish({ ...p, version: 2 })], 1, 3).results[0].ok).toBe(true);
    a.onSyncPage(
      { session: S1, slotId: slotOf('svc-3', SLOTS), leaderEpoch: 1, after: '' },
      page([p], snapshotTime),
      4,
    );
    const r = a.read('svc-3');
    expect('datum' in r && r.datum.publishers).toEqual([]);
  });

  it('removes what a session that left still owns only after the grace, keeping what was re-registered elsewhere', () => {
    const a = core(A);
    a.onSessions([S1, S2], 0);
    syncAll(a, a.onSlotTable(table(1, A), 0), {});
    const moved = pub('svc-4', 'moved', S1);
    a.write([publish(moved), publish(pub('svc-4', 'r1', S1)), publish(pub('svc-4', 'r2', S2))], 1, 1);
    expect(a.onSessions([S2], 2).notify.size).toBe(0);
    expect(a.tick(4_000).notify.size).toBe(0);
    // Its client re-registers through S2 within the grace.
    a.write([publish({ ...moved, sessionAddress: S2, connectId: 'c9', registerTimestamp: ++ts })], 1, 3_000);
    const fx = a.tick(5_002);
    expect(fx.notify.has('svc-4')).toBe(true);
    const r = a.read('svc-4');
    expect('datum' in r && r.datum.publishers.map((x) => x.registerId).sort()).toEqual(['moved', 'r2']);
  });

  it('keeps a session that comes back within the grace', () => {
    const a = core(A);
    a.onSessions([S1], 0);
    syncAll(a, a.onSlotTable(table(1, A), 0), {});
    a.write([publish(pub('svc-8', 'r1', S1))], 1, 1);
    a.onSessions([], 10);
    a.onSessions([S1], 20);
    a.tick(60_000);
    const r = a.read('svc-8');
    expect('datum' in r && r.datum.publishers).toHaveLength(1);
  });

  it('replicates ops to a follower that starts from a snapshot, and the follower leads with the same data', () => {
    const { a, b, t1 } = leaderAndFollower();
    const before = pub('svc-5', 'before');
    a.write([publish(before)], 1, 1);
    const fxB = b.onSlotTable(t1, 0);
    expect(fxB.snapshots).toHaveLength(SLOTS);
    for (const t of fxB.snapshots)
      expect(b.onSnapshot(t, a.snapshot({ slotId: t.slotId, leaderEpoch: t.leaderEpoch, follower: B }))).toBe(true);
    const after = pub('svc-5', 'after');
    const { seqs } = a.write([publish(after)], 1, 2);
    const slotId = slotOf('svc-5', SLOTS);
    expect(a.replicatedThrough(slotId)).toBeLessThan(seqs.get(slotId) as number);
    replicateAll(a, b, B);
    expect(a.replicatedThrough(slotId)).toBeGreaterThanOrEqual(seqs.get(slotId) as number);
    expect([...(b.slots.get(slotId)?.store.get('svc-5')?.publishers.keys() ?? [])].sort()).toEqual(['after', 'before']);
    const versionAtA = a.slots.get(slotId)?.store.get('svc-5')?.version;
    expect(b.slots.get(slotId)?.store.get('svc-5')?.version).toBe(versionAtA);

    // A dies; B is promoted, keeps its replica, syncs from the session, and serves everything.
    const fx = b.onSlotTable(table(2, B, [], 2), 10);
    expect(b.read('svc-5')).toMatchObject({ error: { code: 'NotReady' } });
    syncAll(b, fx, { [S1]: [before, after] });
    const r = b.read('svc-5');
    expect('datum' in r && r.datum.publishers.map((x) => x.registerId).sort()).toEqual(['after', 'before']);
    expect('datum' in r && r.datum.version).toBeGreaterThanOrEqual(versionAtA as number);
  });

  it('sends a follower that fell behind the kept log to a snapshot', () => {
    const { a, b, t1 } = leaderAndFollower();
    installSnapshots(a, b, t1);
    for (let i = 0; i < 300; i++)
      a.write([publish(pub('svc-6', `r${i % 7}`, S1, { dataList: [`v${i}`], version: i + 1 }))], 1, 10 + i);
    replicateAll(a, b, B);
    const slotId = slotOf('svc-6', SLOTS);
    expect(b.slots.get(slotId)?.status).toBe('Following');
    expect(b.slots.get(slotId)?.store.get('svc-6')?.publishers.size).toBe(7);
    expect(b.slots.get(slotId)?.store.get('svc-6')?.version).toBe(a.slots.get(slotId)?.store.get('svc-6')?.version);
  });

  it('an op batch that reaches a follower before its snapshot does not stop replication to it', () => {
    const { a, b, t1 } = leaderAndFollower();
    const slotId = slotOf('svc-9', SLOTS);
    const tasks = b.onSlotTable(t1, 0).snapshots;
    const task = tasks.find((t) => t.slotId === slotId);
    if (!task) throw new Error('no snapshot task');
    // The other slots' snapshots arrive at once; only this slot's is slow.
    for (const t of tasks)
      if (t !== task) b.onSnapshot(t, a.snapshot({ slotId: t.slotId, leaderEpoch: t.leaderEpoch, follower: B }));
    const snap = a.snapshot({ slotId, leaderEpoch: 1, follower: B }); // served; the answer is still on its way
    a.write([publish(pub('svc-9', 'r1'))], 1, 1);
    const req = a.replicationBatch(B);
    if (!req) throw new Error('nothing to replicate');
    const first = b.onReplicate(req); // arrives first: B is still Snapshotting
    const sent = req.slots.find((so) => so.slotId === slotId);
    expect(sent?.ops).toHaveLength(1);
    expect(first.res.slots.find((ack) => ack.slotId === slotId)).toMatchObject({ ok: false, nextSeq: sent?.seq });
    const fx = a.onReplicateResponse(B, req, first.res);
    expect(fx.backoff.has(B)).toBe(true); // the pump waits before resending, no busy loop
    expect(fx.replicateTo.has(B)).toBe(false);
    expect(b.onSnapshot(task, snap)).toBe(true);
    const { seqs } = a.write([publish(pub('svc-9', 'r2'))], 1, 2);
    replicateAll(a, b, B);
    expect([...(b.slots.get(slotId)?.store.get('svc-9')?.publishers.keys() ?? [])].sort()).toEqual(['r1', 'r2']);
    expect(a.replicatedThrough(slotId)).toBeGreaterThanOrEqual(seqs.get(slotId) as number);
  });

  it('a leader restarted under the same leader epoch makes its followers resync and keeps replicating', () => {
    let a = core(A);
    const b = core(B);
    for (const c of [a, b]) c.onSessions([S1], 0);
    const t1 = table(1, A, [B]);
    syncAll(a, a.onSlotTable(t1, 0), {});
    for (const t of b.onSlotTable(t1, 0).snapshots)
      b.onSnapshot(t, a.snapshot({ slotId: t.slotId, leaderEpoch: t.leaderEpoch, follower: B }));
    const r1 = pub('svc-10', 'r1');
    a.write([publish(r1)], 1, 1);
    replicateAll(a, b, B);
    const slotId = slotOf('svc-10', SLOTS);
    expect(b.slots.get(slotId)?.store.get('svc-10')?.publishers.size).toBe(1);

    // kill -9 and restart of A within its lease: same table, same leader epoch; B still follows it.
    a = core(A);
    a.onSessions([S1], 2);
    syncAll(a, a.onSlotTable(t1, 2), { [S1]: [r1] });
    const { seqs } = a.write([publish(pub('svc-10', 'r2'))], 1, 4);
    replicateAll(a, b, B);
    expect(b.slots.get(slotId)?.status).toBe('Following');
    expect([...(b.slots.get(slotId)?.store.get('svc-10')?.publishers.keys() ?? [])].sort()).toEqual(['r1', 'r2']);
    expect(a.replicatedThrough(slotId)).toBeGreaterThanOrEqual(seqs.get(slotId) as number);
    a.write([publish(pub('svc-10', 'r3'))], 1, 5);
    replicateAll(a, b, B);
    expect(b.slots.get(slotId)?.store.get('svc-10')?.publishers.size).toBe(3);
  });

  it('a stale copy of a snapshot request served again does not skip the ops a following follower lacks', () => {
    const { a, b, t1 } = leaderAndFollower();
    installSnapshots(a, b, t1);
    a.write([publish(pub('svc-11', 'r1'))], 1, 1);
    replicateAll(a, b, B);
    const slotId = slotOf('svc-11', SLOTS);
    a.write([publish(pub('svc-11', 'r2'))], 1, 2);
    a.snapshot({ slotId, leaderEpoch: 1, follower: B }); // a late duplicate; its answer reaches nobody
    replicateAll(a, b, B);
    expect([...(b.slots.get(slotId)?.store.get('svc-11')?.publishers.keys() ?? [])].sort()).toEqual(['r1', 'r2']);
  });

  it('a leader pumps the followers of a new table at once, without waiting for a write', () => {
    const a = core(A);
    a.onSessions([S1], 0);
    syncAll(a, a.onSlotTable(table(1, A, [B]), 0), {});
    expect([...a.onSlotTable(table(2, A, [C], 1), 1).replicateTo]).toEqual([C]);
    expect(a.replicationBatch(C)?.slots.map((so) => so.seq)).toEqual(Array.from({ length: SLOTS }, () => -1));
  });

  it('tells a follower to snapshot again when that call failed', () => {
    const { a } = leaderAndFollower();
    const req = a.replicationBatch(B);
    expect(req?.slots.map((s) => s.seq)).toEqual(Array.from({ length: SLOTS }, () => -1));
    expect(a.replicationBatch(B)).toBeUndefined(); // told once
    a.onReplicateResponse(B, req as NonNullable<typeof req>, undefined); // lost
    expect(a.replicationBatch(B)?.slots.map((s) => s.seq)).toEqual(Array.from({ length: SLOTS }, () => -1));
  });

  it('continues above the versions sessions report having seen', () => {
    const a = core(A);
    a.onSessions([S1], 0);
    const fx = a.onSlotTable(table(1, A), 0);
    const slotId = slotOf('svc-7', SLOTS);
    for (const t of fx.sync) {
      const versions = t.slotId === slotId ? [{ dataInfoId: 'svc-7', version: 9_999_999_999_000 }] : [];
      a.onSyncPage(t, page([], 1, { versions }), 5);
    }
    const r = a.read('svc-7');
    expect('datum' in r && r.datum.version).toBeGreaterThan(9_999_999_999_000);
  });
});
