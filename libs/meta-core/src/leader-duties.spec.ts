import type { NodeInfo } from '@sofareg/contracts';
import { checkTable } from '@sofareg/consistent-hash';
import { LeaderDuties, LeaderDutiesOptions } from './leader-duties';
import { EMPTY_META_STATE, MetaCommand, MetaStateValue, applyMetaCommand } from './meta-state';

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
const OPTS: LeaderDutiesOptions = {
  leaseMs: 3_000,
  suspectMs: 1_000,
  warmupMs: 1_000,
  takeoverGraceMs: 0,
  slotCount: 16,
  replicas: 2,
};

function apply(state: MetaStateValue, cmds: MetaCommand[]): MetaStateValue {
  return cmds.reduce((s, c) => applyMetaCommand(s, c).state, state);
}

function leading(state: MetaStateValue, now = 0, opts = OPTS): LeaderDuties {
  const l = new LeaderDuties(opts);
  l.elected();
  l.caughtUp(state, now);
  return l;
}

describe('LeaderDuties', () => {
  const twoServers = apply(EMPTY_META_STATE, [
    { type: 'registerNode', node: node('a:1') },
    { type: 'registerNode', node: node('b:1') },
    { type: 'registerNode', node: node('s:1', 'session') },
  ]);

  it('does nothing until caught up, then renews every known server before evicting anyone', () => {
    const l = new LeaderDuties(OPTS);
    expect(l.tick(twoServers, 100_000)).toEqual([]);
    l.elected();
    expect(l.state).toBe('catching-up');
    expect(l.tick(twoServers, 100_000)).toEqual([]);
    expect(l.caughtUp(twoServers, 100_000)).toBe(true);
    expect(l.tick(twoServers, 103_000).filter((a) => a.kind === 'evict')).toEqual([]);
    expect(
      l
        .tick(twoServers, 103_001)
        .filter((a) => a.kind === 'evict')
        .map((a) => a.kind === 'evict' && a.address)
        .sort(),
    ).toEqual(['a:1', 'b:1', 's:1']);
  });

  it('adds the takeover grace to the first lease of a new leader', () => {
    const l = leading(twoServers, 0, { ...OPTS, takeoverGraceMs: 2_000 });
    expect(l.tick(twoServers, 5_000).filter((a) => a.kind === 'evict')).toEqual([]);
    expect(l.tick(twoServers, 5_001).filter((a) => a.kind === 'evict')).toHaveLength(3);
  });

  it('evicts a silent server once, keeps heartbeating ones, and retries a lost removal', () => {
    const l = leading(twoServers);
    l.heartbeat(node('a:1'), twoServers, 2_500);
    l.heartbeat(node('s:1', 'session'), twoServers, 2_500);
    const evicts = l.tick(twoServers, 3_001).filter((a) => a.kind === 'evict');
    expect(evicts).toEqual([
      { kind: 'evict', address: 'b:1', role: 'data', cmd: { type: 'removeNode', role: 'data', address: 'b:1' } },
    ]);
    expect(l.tick(twoServers, 3_100)).toEqual([]); // in flight: not proposed twice, and no table meanwhile
    l.settled(evicts[0].cmd); // lost (the state still holds b:1)
    expect(l.tick(twoServers, 3_200).map((a) => a.kind)).toEqual(['evict']);
  });

  it('registers an unknown or restarted server once per process', () => {
    const l = leading(twoServers);
    expect(l.heartbeat(node('a:1'), twoServers, 10)).toBeUndefined();
    const cmd = l.heartbeat(node('c:1'), twoServers, 10);
    expect(cmd).toEqual({ type: 'registerNode', node: node('c:1') });
    expect(l.heartbeat(node('c:1'), twoServers, 20)).toBeUndefined();
    expect(l.heartbeat(node('a:1', 'data', 'p2'), twoServers, 20)).toEqual({
      type: 'registerNode',
      node: node('a:1', 'data', 'p2'),
    });
  });

  it('evicts a server whose watch stream closed after the suspect grace', () => {
    const l = leading(twoServers);
    l.watchClosed('a:1', 100);
    expect(l.tick(twoServers, 1_100).filter((a) => a.kind === 'evict')).toEqual([]);
    expect(l.tick(twoServers, 1_101).map((a) => a.kind === 'evict' && a.address)).toEqual(['a:1']);
  });

  it('arranges only after the warm-up, one table at a time, as a compare-and-set that passes checkTable', () => {
    const l = leading(twoServers, 0);
    expect(l.tick(twoServers, 999)).toEqual([]);
    const [a] = l.tick(twoServers, 1_000);
    expect(a.kind).toBe('arrange');
    expect(a.cmd).toMatchObject({ type: 'setSlotTable', prevEpoch: 0, live: ['a:1', 'b:1'] });
    expect(l.tick(twoServers, 1_001)).toEqual([]); // one in flight
    const s1 = applyMetaCommand(twoServers, a.cmd).state;
    l.settled(a.cmd);
    const table = s1.slotTable;
    expect(table && checkTable(table as never, ['a:1', 'b:1'])).toEqual([]);
    // Nothing changed: nothing to publish (a restart of meta does not reshuffle).
    expect(l.tick(s1, 1_100)).toEqual([]);
  });

  it('a table arranged for servers that changed meanwhile is ignored when applied', () => {
    const l = leading(twoServers, 0);
    const [a] = l.tick(twoServers, 1_000);
    const moved = apply(twoServers, [{ type: 'removeNode', role: 'data', address: 'b:1' }]);
    const r = applyMetaCommand(moved, a.cmd);
    expect(r.changes).toEqual([]);
    l.settled(a.cmd);
    const [b] = l.tick(moved, 1_100).filter((x) => x.kind === 'arrange');
    expect(b.cmd).toMatchObject({ live: ['a:1'] });
    expect(applyMetaCommand(moved, b.cmd).changes).toEqual([{ kind: 'slotTable' }]);
  });

  it('forgets everything when deposed', () => {
    const l = leading(twoServers, 0);
    l.deposed();
    expect(l.ready).toBe(false);
    expect(l.tick(twoServers, 100_000)).toEqual([]);
    expect(l.caughtUp(twoServers, 0)).toBe(false);
  });
  it('arranges with the arranger it was given (the shell passes its HashRing)', () => {
    const calls: string[][] = [];
    const l = leading(twoServers, 0, {
      ...OPTS,
      arrange: (prev, live) => {
        calls.push([...live]);
        return { epoch: (prev?.epoch ?? 0) + 1, slotCount: 16, replicas: 2, slots: [] };
      },
    });
    const [a] = l.tick(twoServers, 1_000);
    expect(calls).toEqual([['a:1', 'b:1']]);
    expect(a).toMatchObject({
      kind: 'arrange',
      epoch: 1,
      cmd: { type: 'setSlotTable', prevEpoch: 0, table: { epoch: 1, slots: [] } },
    });
  });
});
