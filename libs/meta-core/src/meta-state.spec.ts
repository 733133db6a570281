import type { NodeInfo, SlotTable } from '@sofareg/contracts';
import { EMPTY_META_STATE, applyMetaCommand } from './meta-state';

const node = (address: string, role = 'data', processId = 'p1'): NodeInfo => ({
  address,
  role,
  zone: 'z',
  dataCenter: 'dc',
  processId,
  startedAt: 1,
  httpAddress: '',
  syncAddress: '',
});
const table = (epoch: number): SlotTable => ({ epoch, slotCount: 4, replicas: 1, slots: [] });

describe('applyMetaCommand', () => {
  it('registers, re-registers on restart, and removes servers by role', () => {
    let s = applyMetaCommand(EMPTY_META_STATE, { type: 'registerNode', node: node('a:1') });
    expect(s.changes).toEqual([{ kind: 'dataNodes' }]);
    expect(applyMetaCommand(s.state, { type: 'registerNode', node: node('a:1') }).changes).toEqual([]);
    s = applyMetaCommand(s.state, { type: 'registerNode', node: node('a:1', 'data', 'p2') });
    expect(s.state.dataNodes['a:1'].processId).toBe('p2');
    s = applyMetaCommand(s.state, { type: 'registerNode', node: node('s:1', 'session') });
    expect(Object.keys(s.state.sessionNodes)).toEqual(['s:1']);
    s = applyMetaCommand(s.state, { type: 'removeNode', role: 'data', address: 'a:1' });
    expect(s.state.dataNodes).toEqual({});
    expect(applyMetaCommand(s.state, { type: 'removeNode', role: 'data', address: 'a:1' }).changes).toEqual([]);
  });

  it('never lets the slot table go back in epoch', () => {
    const s = applyMetaCommand(EMPTY_META_STATE, { type: 'setSlotTable', table: table(5) });
    expect(applyMetaCommand(s.state, { type: 'setSlotTable', table: table(4) }).state.slotTable?.epoch).toBe(5);
    expect(applyMetaCommand(s.state, { type: 'setSlotTable', table: table(5) }).changes).toEqual([]);
    expect(applyMetaCommand(s.state, { type: 'setSlotTable', table: table(6) }).state.slotTable?.epoch).toBe(6);
  });

  it('applies a table with prevEpoch and live only if the current table and data servers still match', () => {
    const base = applyMetaCommand(EMPTY_META_STATE, { type: 'registerNode', node: node('a:1') }).state;
    expect(
      applyMetaCommand(base, { type: 'setSlotTable', table: table(1), prevEpoch: 0, live: ['a:1'] }).changes,
    ).toEqual([{ kind: 'slotTable' }]);
    expect(
      applyMetaCommand(base, { type: 'setSlotTable', table: table(1), prevEpoch: 0, live: ['a:1', 'b:1'] }).changes,
    ).toEqual([]);
    const one = applyMetaCommand(base, { type: 'setSlotTable', table: table(1) }).state;
    expect(
      applyMetaCommand(one, { type: 'setSlotTable', table: table(3), prevEpoch: 2, live: ['a:1'] }).changes,
    ).toEqual([]);
    expect(
      applyMetaCommand(one, { type: 'setSlotTable', table: table(2), prevEpoch: 1, live: ['a:1'] }).state.slotTable
        ?.epoch,
    ).toBe(2);
  });

  it('versions provide-data per key and keeps a removal visible', () => {
    let s = applyMetaCommand(EMPTY_META_STATE, { type: 'putProvideData', key: 'k', value: 'v1' });
    s = applyMetaCommand(s.state, { type: 'putProvideData', key: 'k', value: 'v2' });
    expect(s.state.provideData.k).toEqual({ key: 'k', value: 'v2', version: 2 });
    expect(applyMetaCommand(s.state, { type: 'putProvideData', key: 'k', value: 'v2' }).changes).toEqual([]);
    s = applyMetaCommand(s.state, { type: 'removeProvideData', key: 'k' });
    expect(s.state.provideData.k).toEqual({ key: 'k', value: '', version: 3 });
    expect(applyMetaCommand(EMPTY_META_STATE, { type: 'removeProvideData', key: 'x' }).changes).toEqual([]);
  });

  it('is deterministic: the same commands give the same state', () => {
    const cmds = [
      { type: 'registerNode', node: node('a:1') },
      { type: 'putProvideData', key: 'k', value: 'v' },
      { type: 'setSlotTable', table: table(1) },
    ] as const;
    const run = () => cmds.reduce((st, c) => applyMetaCommand(st, c).state, EMPTY_META_STATE);
    expect(JSON.stringify(run())).toBe(JSON.stringify(run()));
  });

  it('edits an IP list in log order, keeping it sorted and free of duplicates', () => {
    let s = applyMetaCommand(EMPTY_META_STATE, {
      type: 'editProvideDataList',
      key: 'ips',
      add: ['10.0.0.2', '10.0.0.1'],
      remove: [],
    });
    s = applyMetaCommand(s.state, {
      type: 'editProvideDataList',
      key: 'ips',
      add: ['10.0.0.1', '10.0.0.3'],
      remove: ['10.0.0.2'],
    });
    expect(s.state.provideData.ips).toMatchObject({ value: '10.0.0.1,10.0.0.3', version: 2 });
    expect(
      applyMetaCommand(s.state, { type: 'editProvideDataList', key: 'ips', add: [], remove: ['10.0.0.9'] }).changes,
    ).toEqual([]);
  });
});
