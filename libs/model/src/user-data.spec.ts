import { buildUserData } from './user-data';

const pubs = [
  { zone: 'z2', dataList: ['10.0.0.2:80'], registerTimestamp: 2, registerId: 'b' },
  { zone: 'z1', dataList: ['10.0.0.1:80'], registerTimestamp: 1, registerId: 'a' },
  { zone: 'z1', dataList: ['10.0.0.3:80', '10.0.0.4:80'], registerTimestamp: 3, registerId: 'c' },
];

describe('buildUserData', () => {
  it('scope zone keeps only the local zone', () => {
    expect(buildUserData(pubs, 'zone', 'z1', 7)).toEqual({
      zoneData: { z1: ['10.0.0.1:80', '10.0.0.3:80', '10.0.0.4:80'] },
      localZone: 'z1',
      version: 7,
    });
  });

  it('scope dataCenter and global keep every zone', () => {
    for (const scope of ['dataCenter', 'global'] as const) {
      expect(buildUserData(pubs, scope, 'z1', 7).zoneData).toEqual({
        z1: ['10.0.0.1:80', '10.0.0.3:80', '10.0.0.4:80'],
        z2: ['10.0.0.2:80'],
      });
    }
  });

  it('gives an empty push when nothing is published', () => {
    expect(buildUserData([], 'zone', 'z1', 1)).toEqual({ zoneData: {}, localZone: 'z1', version: 1 });
  });

  it('is identical whatever order publishers come in', () => {
    expect(buildUserData([...pubs].reverse(), 'global', 'z1', 1)).toEqual(buildUserData(pubs, 'global', 'z1', 1));
  });
});
