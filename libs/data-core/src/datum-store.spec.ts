import type { Publisher } from '@sofareg/contracts';
import { DatumStore } from './datum-store';

const ID = 'svc#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP';
const pub = (
  registerId: string,
  version: number,
  registerTimestamp: number,
  dataList = ['a:1'],
  extra: Partial<Publisher> = {},
): Publisher => ({
  dataInfoId: ID,
  registerId,
  dataList,
  zone: 'z',
  appName: 'app',
  clientId: 'c',
  processId: 'p',
  connectId: 'conn-1',
  sessionProcessId: 'sp',
  sessionAddress: 's1:1',
  version,
  registerTimestamp,
  clientIp: '1.1.1.1',
  ...extra,
});

describe('DatumStore', () => {
  it('bumps the version only when the content changes', () => {
    const s = new DatumStore();
    const a = s.publish(pub('r1', 1, 10), 1);
    expect(a.changed).toBe(true);
    const same = s.publish(pub('r1', 2, 11), 2);
    expect(same).toEqual({ applied: true, changed: false, version: a.version });
    const b = s.publish(pub('r1', 3, 12, ['a:2']), 3);
    expect(b.changed).toBe(true);
    expect(b.version).toBeGreaterThan(a.version);
    expect(s.get(ID)?.publishers.get('r1')?.version).toBe(3);
  });

  it('ignores an older write of the same registerId', () => {
    const s = new DatumStore();
    s.publish(pub('r1', 2, 10, ['new']), 1);
    expect(s.publish(pub('r1', 1, 20, ['old']), 2).changed).toBe(false);
    expect(s.publish(pub('r1', 2, 5, ['older']), 2).changed).toBe(false);
    expect(s.get(ID)?.publishers.get('r1')?.dataList).toEqual(['new']);
  });

  it('keeps a tombstone so a late older write cannot bring an unpublished registration back', () => {
    const s = new DatumStore();
    s.publish(pub('r1', 1, 10), 1);
    expect(s.unpublish(ID, 'r1', { version: 1, registerTimestamp: 20 }, 's1:1', 2).changed).toBe(true);
    expect(s.publish(pub('r1', 1, 15), 3).changed).toBe(false);
    expect(s.get(ID)?.publishers.size).toBe(0);
    expect(s.publish(pub('r1', 2, 30), 4).changed).toBe(true);
  });

  it('versions increase strictly even within one millisecond', () => {
    const s = new DatumStore();
    const versions = [1, 2, 3].map((i) => s.publish(pub(`r${i}`, 1, 1), 1000).version);
    expect(versions[1]).toBeGreaterThan(versions[0]);
    expect(versions[2]).toBeGreaterThan(versions[1]);
  });

  it('compacts tombstones older than the bound', () => {
    const s = new DatumStore();
    s.publish(pub('r1', 1, 10), 1);
    s.unpublish(ID, 'r1', { version: 1, registerTimestamp: 20 }, 's1:1', 100);
    expect(s.compactTombstones(50)).toBe(0);
    expect(s.compactTombstones(101)).toBe(1);
  });
});
