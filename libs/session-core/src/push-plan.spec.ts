import { contentKey, planPushes } from './push-plan';
import type { SubscriberState } from './session-registry';

const sub = (
  registerId: string,
  connectId: string,
  scope: 'zone' | 'dataCenter',
  pushedVersion = -1,
): SubscriberState => ({
  registerId,
  dataInfoId: 'd',
  connectId,
  scope,
  clientIp: '',
  pushedVersion,
  ackedVersion: -1,
  failures: 0,
  retryAt: 0,
  silencedUntil: 0,
});
const pubs = [
  { zone: 'a', dataList: ['1'], registerTimestamp: 1, registerId: 'x' },
  { zone: 'b', dataList: ['2'], registerTimestamp: 2, registerId: 'y' },
];

describe('planPushes', () => {
  it('serves all subscribers of one connection and scope with one push', () => {
    const plans = planPushes(
      [sub('s1', 'c1', 'zone'), sub('s2', 'c1', 'zone'), sub('s3', 'c1', 'dataCenter'), sub('s4', 'c2', 'zone')],
      pubs,
      10,
      'a',
    );
    expect(plans.map((p) => [p.connectId, p.registerIds])).toEqual([
      ['c1', ['s1', 's2']],
      ['c1', ['s3']],
      ['c2', ['s4']],
    ]);
    expect(plans[0].data.zoneData).toEqual({ a: ['1'] });
    expect(plans[1].data.zoneData).toEqual({ a: ['1'], b: ['2'] });
  });

  it('skips subscribers already pushed this version or a newer one', () => {
    expect(planPushes([sub('s1', 'c1', 'zone', 10), sub('s2', 'c1', 'zone', 11)], pubs, 10, 'a')).toEqual([]);
    expect(planPushes([sub('s1', 'c1', 'zone', 9)], pubs, 10, 'a')).toHaveLength(1);
  });
});

describe('contentKey', () => {
  it('is equal when a scope would see the same addresses, whatever else changed', () => {
    const moved = [
      { ...pubs[0], registerTimestamp: 99 },
      { ...pubs[0], registerId: 'z', dataList: ['0'], registerTimestamp: 0 },
    ];
    const before = [pubs[0], { ...pubs[0], registerId: 'z', dataList: ['0'], registerTimestamp: 5 }];
    expect(contentKey(moved, 'zone', 'a')).toBe(contentKey(before, 'zone', 'a')); // the order changed, not the set
    const otherZoneChanged = [pubs[0], { ...pubs[1], dataList: ['3'] }];
    expect(contentKey(otherZoneChanged, 'zone', 'a')).toBe(contentKey(pubs, 'zone', 'a'));
    expect(contentKey(otherZoneChanged, 'dataCenter', 'a')).not.toBe(contentKey(pubs, 'dataCenter', 'a'));
    expect(contentKey([], 'zone', 'a')).toBe('');
    expect(contentKey([{ ...pubs[0], dataList: ['1,2'] }], 'zone', 'a')).not.toBe(
      contentKey([{ ...pubs[0], dataList: ['1', '2'] }], 'zone', 'a'),
    );
  });
});
