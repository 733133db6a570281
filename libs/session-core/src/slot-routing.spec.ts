import { slotOf } from '@sofareg/consistent-hash';
import type { SlotTable } from '@sofareg/contracts';
import { RoutedOp, SlotRouting, leadersOf, shouldRetryWrite, writeFailure, writeRetryDelayMs } from './slot-routing';

const table = (epoch: number, leaders: string[], slotCount = leaders.length): SlotTable => ({
  epoch,
  slotCount,
  replicas: 1,
  slots: Array.from({ length: slotCount }, (_, id) => ({
    id,
    leader: leaders[id % leaders.length],
    leaderEpoch: epoch,
    followers: [],
  })),
});

const op = (dataInfoId: string): RoutedOp => ({ dataInfoId, slot: 0, slotCount: 0 });

describe('SlotRouting', () => {
  it('routes an op to its slot leader and recomputes its slot when the slot count changes', () => {
    const r = new SlotRouting();
    const o = op('svc-a');
    const t4 = table(1, ['d0', 'd1', 'd2', 'd3']);
    expect(r.route(t4, o)).toBe(`d${slotOf('svc-a', 4)}`);
    expect(o.slotCount).toBe(4);
    const t8 = table(2, ['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7']);
    expect(r.route(t8, o)).toBe(`d${slotOf('svc-a', 8)}`);
    expect(o).toEqual({ dataInfoId: 'svc-a', slot: slotOf('svc-a', 8), slotCount: 8 });
  });

  it('has no leader without a table, or with an empty one', () => {
    const r = new SlotRouting();
    expect(r.route(undefined, op('x'))).toBeUndefined();
    expect(r.leaderOf({ epoch: 1, slotCount: 0, replicas: 1, slots: [] }, 'x')).toBeUndefined();
  });

  it('sends a slot to a newer leader that read it from us, until the table catches up with that epoch', () => {
    const r = new SlotRouting();
    const t1 = table(1, ['old']);
    expect(r.hint(t1, 0, 2, 'new')).toBe(true);
    expect(r.leaderOfSlot(t1, 0)).toBe('new');
    // An older or equal hint changes nothing.
    expect(r.hint(t1, 0, 2, 'other')).toBe(false);
    expect(r.hint(t1, 0, 1, 'other')).toBe(false);
    // Our table reaches epoch 2: it says who leads, and the hint is dropped.
    const t2 = table(2, ['table-leader']);
    r.onTable(t2);
    expect(r.leaderOfSlot(t2, 0)).toBe('table-leader');
    expect(r.leaderOfSlot(t1, 0)).toBe('old');
  });

  it('ignores a hint not newer than our table, or without a leader', () => {
    const r = new SlotRouting();
    const t3 = table(3, ['cur']);
    expect(r.hint(t3, 0, 3, 'x')).toBe(false);
    expect(r.hint(t3, 0, 4, '')).toBe(false);
    expect(r.leaderOfSlot(t3, 0)).toBe('cur');
  });

  it('never lets a queued op leave for a server that stopped leading its slot while it waited', () => {
    const r = new SlotRouting();
    const t = table(1, ['a', 'b']);
    const ops = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'].map(op);
    const forA = ops.filter((o) => r.route(t, o) === 'a');
    expect(forA.length).toBeGreaterThan(0);
    // While they wait in a's queue, a data server at epoch 2 takes over slot 0 (where those ops hash).
    r.hint(t, 0, 2, 'c');
    const { stay, moved } = r.split(t, 'a', forA);
    expect(stay).toEqual([]);
    expect(moved.map((o) => r.route(t, o))).toEqual(forA.map(() => 'c'));
  });
});

describe('write routing helpers', () => {
  it('lists each slot leader once, and none without a table', () => {
    expect(leadersOf(table(1, ['a', 'b', 'a', '']))).toEqual(['a', 'b']);
    expect(leadersOf(undefined)).toEqual([]);
  });

  it('retries writes the slot moved under or whose leader is unreachable, not rejected ones', () => {
    expect(shouldRetryWrite(writeFailure('SlotMoved', ''))).toBe(true);
    expect(shouldRetryWrite(writeFailure('Unavailable', ''))).toBe(true);
    expect(shouldRetryWrite(writeFailure('InvalidArgument', ''))).toBe(false);
    expect(shouldRetryWrite({ ok: true, error: undefined })).toBe(false);
  });

  it('backs off 20·2^attempt ms up to 1 s, jittered between half and all of it', () => {
    expect([1, 2, 5, 6, 9].map((a) => writeRetryDelayMs(a, 0.999999))).toEqual(
      [40, 80, 640, 1_000, 1_000].map((x) => expect.closeTo(x, 2)),
    );
    expect(writeRetryDelayMs(1, 0)).toBe(20);
    expect(writeRetryDelayMs(9, 0)).toBe(500);
  });
});
