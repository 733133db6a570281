import { MetaChange } from './meta-state';
import { MetaStateMachine, encodeMetaCommand } from './meta-state-machine';

describe('MetaStateMachine', () => {
  it('applies commands, ignores empty and non-command entries, restores its snapshot reporting every change', () => {
    const seen: MetaChange[][] = [];
    const sm = new MetaStateMachine((c) => seen.push(c));
    sm.applyEntry(1, new Uint8Array());
    sm.applyEntry(2, encodeMetaCommand({ type: 'putProvideData', key: 'k', value: 'v' }));
    sm.applyEntry(3, undefined);
    expect(sm.appliedIndex).toBe(3);
    expect(seen).toEqual([[{ kind: 'provideData', key: 'k' }]]);
    const copy = new MetaStateMachine((c) => seen.push(c));
    copy.restore(sm.snapshot());
    expect(copy.state).toEqual(sm.state);
    expect(copy.appliedIndex).toBe(3);
    expect(seen[1]).toEqual([{ kind: 'dataNodes' }, { kind: 'sessionNodes' }, { kind: 'provideData', key: 'k' }]);
  });
});
