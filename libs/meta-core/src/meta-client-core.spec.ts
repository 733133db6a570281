import type { HeartbeatResponse, MetaEvent, NodeInfo, SlotTable } from '@sofareg/contracts';
import { MetaClientCore, MetaClientEffect } from './meta-client-core';

const node: NodeInfo = {
  address: 'd:1',
  role: 'data',
  zone: 'z',
  dataCenter: 'dc',
  processId: 'p',
  startedAt: 1,
  httpAddress: '',
  syncAddress: '',
};
const table = (epoch: number): SlotTable => ({ epoch, slotCount: 4, replicas: 1, slots: [] });
const ok = (leader: string, slotTable?: SlotTable): HeartbeatResponse => ({
  ok: true,
  error: undefined,
  slotTableEpoch: slotTable?.epoch ?? 0,
  slotTable,
  leader,
  leaseMs: 3_000,
});
const notLeader = (leader: string): HeartbeatResponse => ({
  ok: false,
  error: { code: 'NotLeader', message: '', field: '', leader },
  slotTableEpoch: 0,
  slotTable: undefined,
  leader,
  leaseMs: 0,
});
const fixed = (x: number) => ({ next: () => x });
const core = (random = fixed(0)) => new MetaClientCore({ metaAddresses: ['m1', 'm2', 'm3'], node, random });
const kinds = (effects: MetaClientEffect[]) => effects.map((e) => e.kind);
const emitted = (effects: MetaClientEffect[]) => effects.flatMap((e) => (e.kind === 'emit' ? [e.event.name] : []));
const ev = (event: MetaEvent['event']): MetaEvent => ({ event });

describe('MetaClientCore', () => {
  it('starts with a heartbeat to the first address, the next beat a second later, and a watch stream', () => {
    const c = core();
    const effects = c.start(5_000);
    expect(effects).toEqual([
      { kind: 'heartbeat', address: 'm1', attempt: 0, request: { node, slotTableEpoch: 0, slotSettings: undefined } },
      { kind: 'schedule', timer: 'heartbeat', atMs: 6_000 },
      { kind: 'openWatch', address: 'm1', watch: 1, request: { node, slotTableEpoch: 0 } },
    ]);
  });

  it('follows a NotLeader that names the leader with an immediate beat there, at most three times in a row', () => {
    const c = core();
    c.start(0);
    const beat = (address: string, attempt: number) => [{ kind: 'heartbeat', address, attempt }];
    expect(c.heartbeatAnswered('m1', 0, notLeader('m2'))).toMatchObject(beat('m2', 1));
    expect(c.heartbeatAnswered('m2', 1, notLeader('m3'))).toMatchObject(beat('m3', 2));
    expect(c.heartbeatAnswered('m3', 2, notLeader('m1'))).toMatchObject(beat('m1', 3));
    expect(c.heartbeatAnswered('m1', 3, notLeader('m2'))).toEqual([]);
    expect(c.address).toBe('m2');
  });

  it('moves to the next address on a NotLeader without a leader or a failed call, unless a newer hint arrived', () => {
    const c = core();
    c.start(0);
    c.heartbeatAnswered('m1', 0, notLeader(''));
    expect(c.address).toBe('m2');
    expect(kinds(c.heartbeatFailed('m2', 'deadline'))).toEqual(['log']);
    expect(c.address).toBe('m3');
    c.heartbeatAnswered('m3', 0, ok('m1'));
    expect(c.address).toBe('m1');
    c.heartbeatFailed('m3', 'late failure of an older call');
    expect(c.address).toBe('m1');
    c.heartbeatFailed('m1', 'leader gone');
    expect(c.leaderHint).toBeUndefined();
    expect(c.address).toBe('m1'); // the rotation continues from m3 to the next address, m1
  });

  it('keeps the newest slot table from heartbeats and the watch stream, and reports the epoch it holds', () => {
    const c = core();
    c.start(0);
    expect(emitted(c.heartbeatAnswered('m1', 0, ok('m1', table(3))))).toEqual(['slotTable']);
    expect(emitted(c.watchEvent(1, ev({ $case: 'slotTable', value: table(2) })))).toEqual([]);
    expect(emitted(c.watchEvent(1, ev({ $case: 'slotTable', value: table(4) })))).toEqual(['slotTable']);
    expect(c.slotTable?.epoch).toBe(4);
    expect(c.heartbeatDue(1_000)[0]).toMatchObject({ kind: 'heartbeat', request: { slotTableEpoch: 4 } });
  });

  it('keeps provide-data by version and node lists as sent', () => {
    const c = core();
    c.start(0);
    const pd = (version: number) => ev({ $case: 'provideData', value: { key: 'k', value: `v${version}`, version } });
    expect(emitted(c.watchEvent(1, pd(2)))).toEqual(['provideData']);
    expect(emitted(c.watchEvent(1, pd(1)))).toEqual([]);
    expect(c.provideData('k')?.version).toBe(2);
    const nodes = ev({ $case: 'dataNodes', value: { nodes: [node], version: 0, leader: '' } });
    expect(emitted(c.watchEvent(1, nodes))).toEqual(['dataNodes']);
    expect(c.dataNodes).toEqual([node]);
  });

  it('reopens a watch stream ended by NotLeader at the named leader after 20 ms', () => {
    const c = core();
    c.start(0);
    c.watchEvent(1, ev({ $case: 'error', value: { code: 'NotLeader', message: '', field: '', leader: 'm3' } }));
    expect(c.watchEnded(1, 'end', 100)).toContainEqual({ kind: 'schedule', timer: 'watch', atMs: 120 });
    expect(c.watchDue()).toMatchObject([{ kind: 'openWatch', address: 'm3', watch: 2 }]);
  });

  it('reopens a failed watch stream at the next address after 200-400 ms, by the random source', () => {
    const c = core(fixed(0.5));
    c.start(0);
    expect(c.watchEnded(1, 'unavailable', 1_000)).toContainEqual({ kind: 'schedule', timer: 'watch', atMs: 1_300 });
    expect(c.watchDue()).toMatchObject([{ kind: 'openWatch', address: 'm2' }]);
    expect(c.watchDue()).toEqual([]); // one stream at a time
  });

  it('ignores events and ends of a replaced stream', () => {
    const c = core();
    c.start(0);
    c.watchEnded(1, 'end', 0);
    c.watchDue();
    expect(c.watchEvent(1, ev({ $case: 'slotTable', value: table(9) }))).toEqual([]);
    expect(c.watchEnded(1, 'end', 10)).toEqual([]);
    expect(c.openWatchId).toBe(2);
  });

  it('reports a refusal other than NotLeader', () => {
    const c = core();
    c.start(0);
    const error = { code: 'SlotSettingsMismatch', message: 'differ', field: '', leader: '' };
    const refused: HeartbeatResponse = { ...notLeader(''), error };
    expect(c.heartbeatAnswered('m1', 0, refused)).toContainEqual({
      kind: 'emit',
      event: { name: 'refused', value: { code: 'SlotSettingsMismatch', message: 'differ' } },
    });
  });

  it('asks for nothing after stop, which cancels timers and the stream and leaves at the target', () => {
    const c = core();
    c.start(0);
    expect(c.stop(true)).toEqual([
      { kind: 'cancelTimers' },
      { kind: 'cancelWatch', watch: 1 },
      { kind: 'leave', address: 'm1', request: { node } },
    ]);
    expect(c.heartbeatDue(1_000)).toEqual([]);
    expect(c.watchDue()).toEqual([]);
    expect(c.heartbeatAnswered('m1', 0, ok('m1', table(1)))).toEqual([]);
  });

  it('refuses an empty address list', () => {
    expect(() => new MetaClientCore({ metaAddresses: [], node, random: fixed(0) })).toThrow('at least one meta server');
  });
});
