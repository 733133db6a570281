import { UserDataValue } from '@sofareg/model';
import { RegistryClient } from '../registry-client';
import { RegistryClientOptions } from '../options';
import { FakeSession, fakeSessionTransport } from './fake-session';
import { waitFor } from './wait-for';

/** Clients against in-memory sessions: the whole protocol, no sockets, real (short) timers. */
describe('RegistryClient against FakeSession', () => {
  const clients: RegistryClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  function client(sessions: FakeSession[], servers: string[], extra: Partial<RegistryClientOptions> = {}) {
    const c = new RegistryClient({
      sessionServers: servers,
      appName: 'app',
      transport: fakeSessionTransport(sessions),
      reconnectDelay: () => 1,
      random: () => 0,
      ...extra,
    });
    clients.push(c);
    return c;
  }

  const flat = (d: UserDataValue | undefined) =>
    Object.values(d?.zoneData ?? {})
      .flat()
      .sort();

  it('publishes, pushes to a subscriber of another client, republishes and unregisters', async () => {
    const session = new FakeSession('s1:9600');
    const provider = client([session], ['s1:9600'], { zone: 'ZA' });
    const consumer = client([session], ['s1:9600'], { zone: 'ZB' });
    const seen: UserDataValue[] = [];
    const sub = consumer.subscribe({ dataId: 'com.acme.Orders', scope: 'dataCenter' }, (_id, d) => void seen.push(d));
    await sub.synced();
    await waitFor(() => seen.length === 1, { message: 'first (empty) push' });
    expect(seen[0].zoneData).toEqual({});

    const pub = provider.publish({ dataId: 'com.acme.Orders' }, '10.0.0.1:12200');
    await pub.synced();
    await waitFor(() => flat(sub.peekData()).join() === '10.0.0.1:12200', { message: 'published address pushed' });
    expect(sub.peekData()?.zoneData).toEqual({ ZA: ['10.0.0.1:12200'] });

    pub.republish('10.0.0.1:12200', '10.0.0.2:12200');
    await pub.synced();
    expect(pub.ackedVersion).toBe(2);
    await waitFor(() => flat(sub.peekData()).length === 2, { message: 'republish pushed' });

    await pub.unregister();
    await waitFor(() => flat(sub.peekData()).length === 0, { message: 'unregister pushed' });
    const versions = seen.map((d) => d.version);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions); // strictly increasing, never re-delivered
    expect(new Set(versions).size).toBe(versions.length);
    expect(session.acks.length).toBeGreaterThanOrEqual(seen.length);
  });

  it('a zone-scoped subscriber sees only its own zone', async () => {
    const session = new FakeSession('s1:9600', 'ZA');
    const a = client([session], ['s1:9600'], { zone: 'ZA' });
    const b = client([session], ['s1:9600'], { zone: 'ZB' });
    await a.publish({ dataId: 'svc' }, 'a:1').synced();
    await b.publish({ dataId: 'svc' }, 'b:1').synced();
    const sub = a.subscribe({ dataId: 'svc', scope: 'zone' }, () => undefined);
    await waitFor(() => sub.peekData(), { message: 'first push' });
    expect(sub.peekData()?.zoneData).toEqual({ ZA: ['a:1'] });
  });

  it('moves to another session when its session dies, and re-registers there', async () => {
    const s1 = new FakeSession('s1:9600');
    const s2 = new FakeSession('s2:9600');
    const provider = client([s1, s2], ['s1:9600', 's2:9600']);
    const consumer = client([s2], ['s2:9600']);
    const sub = consumer.subscribe({ dataId: 'svc', scope: 'global' }, () => undefined);
    const pub = provider.publish({ dataId: 'svc' }, 'p:1');
    await pub.synced();
    expect(provider.session?.server).toBe('s1:9600');
    expect(s1.published('svc#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP')).toEqual({ DEFAULT_ZONE: ['p:1'] });

    const statuses: string[] = [];
    void (async () => {
      for await (const e of provider.status()) statuses.push(e.type);
    })();
    s1.up = false;
    s1.dropAll();
    await waitFor(() => provider.session?.server === 's2:9600', { message: 'reconnected to s2' });
    await waitFor(() => flat(sub.peekData()).join() === 'p:1', { message: 'consumer sees the replayed publisher' });
    expect(s1.connectionCount).toBe(0);
    expect(s1.published('svc#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP')).toEqual({});
    expect(statuses.slice(0, 4)).toEqual(['disconnected', 'reconnecting', 'connecting', 'connected']);
  });

  it('a refused registration fails alone; the connection and the others stay', async () => {
    const session = new FakeSession();
    session.refuse = (m) =>
      m.body?.$case === 'publish' && m.body.value.dataId === 'forbidden'
        ? { code: 'Blocked', message: 'dataId is blacklisted' }
        : undefined;
    const c = client([session], ['127.0.0.1:9600']);
    const bad = c.publish({ dataId: 'forbidden' }, 'x:1');
    const good = c.publish({ dataId: 'fine' }, 'y:1');
    await expect(bad.synced()).rejects.toMatchObject({ code: 'Blocked', message: 'dataId is blacklisted' });
    await good.synced();
    expect(c.phase).toBe('connected');
    expect(c.stats().registrationsRejected).toBe(1);
  });

  it('watches configuration values', async () => {
    const session = new FakeSession();
    const c = client([session], ['127.0.0.1:9600']);
    const seen: (string | undefined)[] = [];
    const cfg = c.watchConfig({ key: 'stopPushDataSwitch' }, (_k, v) => void seen.push(v));
    await cfg.synced();
    await waitFor(() => seen.length === 1);
    session.setConfig('stopPushDataSwitch', 'true');
    await waitFor(() => cfg.peekValue() === 'true');
    session.setConfig('stopPushDataSwitch', undefined);
    await waitFor(() => seen.length === 3);
    expect(seen).toEqual([undefined, 'true', undefined]);
  });
});
