import type { HeartbeatRequest, NodeInfo, SlotTable } from '@sofareg/contracts';
import { changeEvents, heartbeatAnswer, initialWatchEvents, notLeaderAnswer, refuseHeartbeat } from './meta-answers';
import { EMPTY_META_STATE, applyMetaCommand } from './meta-state';

const node = (address: string, role = 'data'): NodeInfo => ({
  address,
  role,
  zone: 'z',
  dataCenter: 'dc',
  processId: 'p',
  startedAt: 1,
  httpAddress: '',
  syncAddress: '',
});
const table = (epoch: number): SlotTable => ({ epoch, slotCount: 16, replicas: 2, slots: [] });
const cluster = { slotCount: 16, replicas: 2, hash: 'crc32c' };
const req = (n: NodeInfo | undefined, slotSettings = cluster): HeartbeatRequest => ({
  node: n,
  slotTableEpoch: 0,
  slotSettings,
});

describe('meta answers', () => {
  it('refuses a heartbeat without address or with an unknown role, and a data server with other slot settings', () => {
    expect(refuseHeartbeat(req(undefined), cluster)?.code).toBe('InvalidArgument');
    expect(refuseHeartbeat(req(node('a:1', 'meta')), cluster)?.code).toBe('InvalidArgument');
    expect(refuseHeartbeat(req(node('a:1'), { ...cluster, slotCount: 8 }), cluster)).toMatchObject({
      code: 'SlotSettingsMismatch',
      field: 'slotSettings',
    });
    expect(refuseHeartbeat(req(node('s:1', 'session'), { ...cluster, slotCount: 8 }), cluster)).toBeUndefined();
    expect(refuseHeartbeat(req(node('a:1')), cluster)).toBeUndefined();
  });

  it('sends a table only when newer than the one the server holds, and names the leader when not leading', () => {
    expect(heartbeatAnswer(table(3), 2, 'm1', 3_000).slotTable?.epoch).toBe(3);
    const held = heartbeatAnswer(table(3), 3, 'm1', 3_000);
    expect(held).toMatchObject({ ok: true, slotTable: undefined, slotTableEpoch: 3 });
    expect(notLeaderAnswer('m2', 3_000)).toMatchObject({ ok: false, error: { code: 'NotLeader', leader: 'm2' } });
  });

  it('opens a watch with the newer table, both node lists and all provide-data, then one event per change', () => {
    let s = applyMetaCommand(EMPTY_META_STATE, { type: 'registerNode', node: node('b:1') }).state;
    s = applyMetaCommand(s, { type: 'registerNode', node: node('a:1') }).state;
    s = applyMetaCommand(s, { type: 'setSlotTable', table: table(2) }).state;
    s = applyMetaCommand(s, { type: 'putProvideData', key: 'k', value: 'v' }).state;
    expect(initialWatchEvents(s, 0, 'm1').map((e) => e.event?.$case)).toEqual([
      'slotTable',
      'dataNodes',
      'sessionNodes',
      'provideData',
    ]);
    const held = initialWatchEvents(s, 2, 'm1');
    expect(held.map((e) => e.event?.$case)).toEqual(['dataNodes', 'sessionNodes', 'provideData']);
    const first = held[0].event;
    expect(first?.$case === 'dataNodes' && first.value.nodes.map((n) => n.address)).toEqual(['a:1', 'b:1']);
    const changes = [
      { kind: 'provideData', key: 'k' },
      { kind: 'provideData', key: 'gone' },
      { kind: 'slotTable' },
    ] as const;
    expect(changeEvents(s, changes, 'm1').map((e) => e.event?.$case)).toEqual(['provideData', 'slotTable']);
  });
});
