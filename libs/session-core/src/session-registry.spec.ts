import type { Publisher } from '@sofareg/contracts';
import { SessionRegistry } from './session-registry';

const pub = (registerId: string, connectId: string): Publisher => ({
  dataInfoId: 'd',
  registerId,
  dataList: ['a'],
  zone: 'z',
  appName: '',
  clientId: '',
  processId: '',
  connectId,
  sessionProcessId: '',
  sessionAddress: '',
  version: 1,
  registerTimestamp: 1,
  clientIp: '',
});

describe('SessionRegistry', () => {
  it('removes what a closed connection owns', () => {
    const r = new SessionRegistry();
    r.putPublisher(pub('p1', 'c1'));
    r.putPublisher(pub('p2', 'c2'));
    r.putSubscriber({ registerId: 's1', dataInfoId: 'd', connectId: 'c1', scope: 'zone', clientIp: '' });
    const gone = r.removeConnection('c1');
    expect(gone.publishers.map((p) => p.registerId)).toEqual(['p1']);
    expect(gone.subscribers.map((s) => s.registerId)).toEqual(['s1']);
    expect(r.publisherCount).toBe(1);
    expect(r.subscribersOf('d')).toBeUndefined();
  });

  it('lets a reconnected client take its registrations over, so the old connection closing removes nothing', () => {
    const r = new SessionRegistry();
    r.putPublisher(pub('p1', 'old'));
    r.putSubscriber({ registerId: 's1', dataInfoId: 'd', connectId: 'old', scope: 'zone', clientIp: '' });
    r.putPublisher(pub('p1', 'new'));
    r.putSubscriber({ registerId: 's1', dataInfoId: 'd', connectId: 'new', scope: 'zone', clientIp: '' });
    expect(r.removeConnection('old')).toEqual({ publishers: [], subscribers: [] });
    expect(r.getPublisher('p1')?.connectId).toBe('new');
    expect(r.subscribersOf('d')?.get('s1')?.connectId).toBe('new');
  });

  it('only the owning connection removes a registration', () => {
    const r = new SessionRegistry();
    r.putPublisher(pub('p1', 'c1'));
    expect(r.removePublisher('p1', 'c2')).toBeUndefined();
    expect(r.removePublisher('p1', 'c1')?.registerId).toBe('p1');
  });
});

describe('SessionRegistry client-off', () => {
  it("removes a connection's publishers but keeps its subscribers", () => {
    const r = new SessionRegistry();
    r.putPublisher(pub('p1', 'c1'));
    r.putPublisher(pub('p2', 'c2'));
    r.putSubscriber({ registerId: 's1', dataInfoId: 'd', connectId: 'c1', scope: 'zone', clientIp: '' });
    expect(r.removePublishersOf('c1').map((p) => p.registerId)).toEqual(['p1']);
    expect(r.removePublishersOf('c1')).toEqual([]);
    expect(r.getPublisher('p2')).toBeDefined();
    expect(r.subscribersOf('d')?.has('s1')).toBe(true);
    expect(r.removeConnection('c1')).toMatchObject({ publishers: [], subscribers: [{ registerId: 's1' }] });
  });
});
