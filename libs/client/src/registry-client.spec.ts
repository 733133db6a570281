import { ErrorCode, RegistryError, UserDataValue } from '@sofareg/model';
import { Logger } from './logger';
import { RegistryClient } from './registry-client';
import { RegistryClientOptions } from './options';
import { StatusEvent } from './status';
import { ManualClock, sequentialIds } from './testing/manual-clock';
import { ScriptedTransport } from './testing/scripted-transport';

/** Lets the client's async dial (server pick) and promise callbacks run. Not a sleep: one macrotask turn. */
const settle = () => new Promise<void>((r) => setImmediate(r));

function setup(overrides: Partial<RegistryClientOptions> = {}) {
  const clock = new ManualClock();
  const transport = new ScriptedTransport();
  const logs: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: (message, fields) => logs.push({ level: 'info', message, fields }),
    warn: (message, fields) => logs.push({ level: 'warn', message, fields }),
    error: (message, fields) => logs.push({ level: 'error', message, fields }),
  };
  const client = new RegistryClient({
    sessionServers: ['s1:9600', 's2:9600'],
    appName: 'orders',
    zone: 'Z1',
    clock,
    random: () => 0,
    newId: sequentialIds(),
    clientId: 'client-1',
    processId: 'proc-1',
    clientIp: '10.0.0.9',
    transport,
    logger,
    ...overrides,
  });
  return { clock, transport, client, logs };
}

/** Starts a client and completes its first handshake. */
async function connected(overrides: Partial<RegistryClientOptions> = {}) {
  const env = setup(overrides);
  await settle();
  env.transport.last.hello();
  await settle();
  return env;
}

/** Drops the current stream and lets the retry timer open the next one. */
async function reconnect(
  env: { clock: ManualClock; transport: ScriptedTransport },
  error = new Error('14 UNAVAILABLE: gone'),
) {
  const before = env.transport.connections.length;
  env.transport.last.end(error);
  env.clock.runNext(); // the backoff timer
  await settle();
  expect(env.transport.connections.length).toBe(before + 1);
  return env.transport.last;
}

async function collect(it: AsyncIterableIterator<StatusEvent>): Promise<StatusEvent[]> {
  const out: StatusEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('RegistryClient', () => {
  afterEach(() => jest.restoreAllMocks());

  describe('connecting', () => {
    it('opens one stream and says hello first, with the client identity', async () => {
      const { transport, client } = setup();
      expect(client.phase).toBe('idle'); // starts on the next microtask, so status() sees 'connecting'
      await settle();
      expect(transport.connections).toHaveLength(1);
      expect(transport.last.server).toBe('s1:9600');
      expect(transport.last.sent).toEqual([
        {
          body: {
            $case: 'hello',
            value: {
              clientId: 'client-1',
              processId: 'proc-1',
              appName: 'orders',
              zone: 'Z1',
              dataCenter: 'DefaultDataCenter',
              clientIp: '10.0.0.9',
              clientVersion: '0.1.0',
              acceptsBatches: true,
            },
          },
        },
      ]);
      transport.last.hello('c-42');
      expect(client.phase).toBe('connected');
      expect(client.session).toEqual({
        server: 's1:9600',
        connectId: 'c-42',
        sessionAddress: 's1:9600',
        zone: 'DEFAULT_ZONE',
      });
      await client.ready();
      await client.close();
    });

    it('sends nothing but hello until the session answers it', async () => {
      const { transport, client } = setup();
      await settle();
      client.publish({ dataId: 'svc' }, 'a:1');
      client.subscribe({ dataId: 'svc', scope: 'zone' }, () => undefined);
      expect(transport.last.cases()).toEqual(['hello']);
      expect(client.stats().offlineQueued).toBe(2);
      transport.last.hello();
      expect(transport.last.cases()).toEqual(['hello', 'publish', 'subscribe']);
      await client.close();
    });

    it('keeps one dial in flight and walks the servers round-robin on failures, with backoff', async () => {
      const { clock, transport, client } = setup();
      await settle();
      expect(transport.connections).toHaveLength(1);
      transport.last.end(new Error('14 UNAVAILABLE: refused'));
      expect(client.phase).toBe('reconnecting');
      expect(clock.pending()).toEqual([{ in: 100 }]); // attempt 1 with random()=0: 200 ms * (1 - 0.5)
      await settle();
      expect(transport.connections).toHaveLength(1); // nothing dials before the timer
      clock.advance(100);
      await settle();
      expect(transport.connections.map((c) => c.server)).toEqual(['s1:9600', 's2:9600']);
      transport.last.end(new Error('14 UNAVAILABLE: refused'));
      expect(clock.pending()).toEqual([{ in: 200 }]); // attempt 2
      await client.close();
      expect(clock.pending()).toEqual([]);
    });

    it('fails a dial without hello within connectTimeoutMs, closing that stream', async () => {
      const { clock, transport, client } = setup({ connectTimeoutMs: 1_000 });
      await settle();
      clock.advance(999);
      expect(client.phase).toBe('connecting');
      clock.advance(1);
      expect(client.phase).toBe('reconnecting');
      expect(transport.connections[0].closedByClient).toBe(true);
      await client.close();
    });

    it('treats any message before hello as a protocol error', async () => {
      const { transport, client, logs } = setup();
      await settle();
      transport.last.push('x', ['r'], 1);
      expect(client.phase).toBe('reconnecting');
      expect(logs.some((l) => l.level === 'error' && /before its hello/.test(l.message))).toBe(true);
      await client.close();
    });

    it('uses the reconnectDelay hook when given', async () => {
      const { clock, transport, client } = setup({ reconnectDelay: (attempt) => attempt * 7 });
      await settle();
      transport.last.end(new Error('x'));
      expect(clock.pending()).toEqual([{ in: 7 }]);
      clock.advance(7);
      await settle();
      transport.last.end(new Error('x'));
      expect(clock.pending()).toEqual([{ in: 14 }]);
      await client.close();
    });

    it('gives up after maxAttempts and resolves closed() with the reason', async () => {
      const { clock, transport, client } = setup({ reconnect: { maxAttempts: 2 } });
      for (let i = 0; i < 3; i++) {
        await settle();
        transport.last.end(new Error('14 UNAVAILABLE: nobody home'));
        clock.runNext();
      }
      const reason = await client.closed();
      expect(reason).toBeInstanceOf(RegistryError);
      expect(reason?.code).toBe(ErrorCode.Unavailable);
      expect(reason?.message).toMatch(/gave up after 2 reconnect attempt\(s\).*nobody home/);
      expect(() => client.publish({ dataId: 'svc' }, 'a')).toThrow(/closed/);
      await expect(client.ready()).rejects.toMatchObject({ code: 'Closed' });
    });

    it('drops the connection when the session stays silent past heartbeatTimeoutMs', async () => {
      const { clock, transport, client } = await connected({ heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 3_000 });
      const first = transport.last;
      clock.advance(1_000);
      expect(first.sentOf('heartbeat')).toEqual([{ sentAt: 1_001_000 }]);
      first.deliver({ body: { $case: 'heartbeat', value: { sentAt: 1_001_000, serverTime: 0 } } });
      expect(client.stats().lastHeartbeatRttMs).toBe(0);
      clock.advance(2_000);
      expect(client.phase).toBe('connected');
      clock.advance(1_000); // 3 s after the last message
      expect(client.phase).toBe('reconnecting');
      expect(first.closedByClient).toBe(true);
      await client.close();
    });
  });

  describe('validation', () => {
    it('throws InvalidArgument naming field and rule before anything is sent', async () => {
      const { transport, client } = await connected();
      const cases: [() => unknown, string, RegExp][] = [
        [() => client.publish({ dataId: '  ' }, 'a'), 'dataId', /blank/],
        [() => client.publish({ dataId: 'a#@#b' }, 'a'), 'dataId', /#@#/],
        [() => client.publish({ dataId: 'svc' }, 'ok', 'x'.repeat(5000)), 'dataList', /rule: maxLength/],
        [() => client.publish({ dataId: 'svc', group: 'g#@#' }, 'a'), 'group', /rule: matches/],
        [
          () => client.subscribe({ dataId: 'svc', scope: 'planet' as never }, () => undefined),
          'scope',
          /one of: zone, dataCenter, global/,
        ],
        [() => client.subscribe({ dataId: 'svc', scope: 'zone' }, 'nope' as never), 'callback', /rule: isFunction/],
        [() => client.watchConfig({ key: '' }, () => undefined), 'key', /rule:/],
        [() => client.publish(undefined as never), 'dataId', /rule:/],
      ];
      for (const [call, field, message] of cases) {
        let thrown: unknown;
        try {
          call();
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(RegistryError);
        expect(thrown).toMatchObject({ code: 'InvalidArgument', field });
        expect((thrown as Error).message).toMatch(message);
      }
      const pub = client.publish({ dataId: 'svc' }, 'a:1');
      expect(() => pub.republish('ok', 'y'.repeat(5000))).toThrow(expect.objectContaining({ field: 'dataList' }));
      expect(pub.version).toBe(1);
      expect(transport.last.cases()).toEqual(['hello', 'publish']);
      await client.close();
    });

    it('validates options at construction', () => {
      const make = (o: Partial<RegistryClientOptions>) => () =>
        new RegistryClient({ transport: new ScriptedTransport(), ...o });
      expect(make({})).toThrow(expect.objectContaining({ code: 'InvalidArgument', field: 'sessionServers' }));
      expect(make({ sessionServers: ['nope'] })).toThrow(expect.objectContaining({ field: 'sessionServers[0]' }));
      expect(make({ registryEndpoint: 'ftp://x' })).toThrow(expect.objectContaining({ field: 'registryEndpoint' }));
      expect(make({ sessionServers: ['a:1'], reconnect: { jitter: 2 } })).toThrow(
        expect.objectContaining({ field: 'reconnect.jitter' }),
      );
      expect(make({ sessionServers: ['a:1'], heartbeatIntervalMs: 0 })).toThrow(
        expect.objectContaining({ field: 'heartbeatIntervalMs' }),
      );
      expect(make({ sessionServers: ['a:1'], heartbeatIntervalMs: 10, heartbeatTimeoutMs: 10 })).toThrow(
        expect.objectContaining({ field: 'heartbeatTimeoutMs' }),
      );
      expect(make({ sessionServers: ['a:1'], zone: ' ' })).toThrow(expect.objectContaining({ field: 'zone' }));
    });
  });

  describe('registrations', () => {
    it('publishes with defaults filled in, and synced() follows the acknowledged version', async () => {
      const { transport, client } = await connected();
      const pub = client.publish({ dataId: 'svc' }, '10.0.0.1:12200');
      expect(pub.dataInfoId).toBe('svc#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP');
      const [req] = transport.last.sentOf('publish');
      expect(req).toEqual({
        requestId: 1,
        registerId: 'reg-1',
        dataId: 'svc',
        instanceId: 'DEFAULT_INSTANCE_ID',
        group: 'DEFAULT_GROUP',
        dataList: ['10.0.0.1:12200'],
        version: 1,
        appName: 'orders',
      });
      let synced = false;
      const s1 = pub.synced().then(() => (synced = true));
      await settle();
      expect(synced).toBe(false);
      transport.last.ackAll();
      await s1;
      expect(pub.ackedVersion).toBe(1);
      pub.republish('10.0.0.1:12200', '10.0.0.2:12200');
      expect(pub.version).toBe(2);
      const s2 = pub.synced();
      let second = false;
      void s2.then(() => (second = true));
      await settle();
      expect(second).toBe(false); // re-pending after a republish
      transport.last.ackAll();
      await s2;
      expect(transport.last.sentOf('publish').map((p) => [p.version, p.dataList])).toEqual([
        [1, ['10.0.0.1:12200']],
        [2, ['10.0.0.1:12200', '10.0.0.2:12200']],
      ]);
      await client.close();
    });

    it('with a batch-reading session, sends what one turn produced as one frame and reads batched answers', async () => {
      const env = setup();
      await settle();
      const conn = env.transport.last;
      expect(conn.sentOf('hello')[0].acceptsBatches).toBe(true);
      conn.hello('conn-1', true);
      await settle();
      const pubs = [1, 2, 3].map((i) => env.client.publish({ dataId: `svc${i}` }, `10.0.0.${i}:12200`));
      expect(conn.frames.length).toBe(1); // only the hello: the publishes wait for the end of the turn
      await settle();
      expect(conn.frames.length).toBe(2);
      expect(conn.frames[1].body?.$case).toBe('batch');
      const reqs = conn.sentOf('publish');
      expect(reqs.map((r) => r.dataId)).toEqual(['svc1', 'svc2', 'svc3']);
      conn.deliver({
        body: {
          $case: 'batch',
          value: {
            messages: reqs.map((r) => ({
              body: {
                $case: 'result' as const,
                value: {
                  requestId: r.requestId,
                  registerId: r.registerId,
                  ok: true,
                  version: r.version,
                  error: undefined,
                },
              },
            })),
          },
        },
      });
      await Promise.all(pubs.map((p) => p.synced()));
      // A lone message in a turn goes out as itself.
      pubs[0].republish('10.0.0.9:12200');
      await settle();
      expect(conn.frames[2].body?.$case).toBe('publish');
      await env.client.close();
    });

    it('splits one turn of many messages into bounded batch frames', async () => {
      const env = setup();
      await settle();
      const conn = env.transport.last;
      conn.hello('conn-1', true);
      await settle();
      for (let i = 0; i < 300; i++) env.client.publish({ dataId: `svc${i}` }, `10.0.${i >> 8}.${i & 255}:12200`);
      await settle();
      const sizes = conn.frames.slice(1).map((f) => (f.body?.$case === 'batch' ? f.body.value.messages.length : 1));
      expect(sizes).toEqual([256, 44]);
      expect(conn.sentOf('publish')).toHaveLength(300);
      await env.client.close();
    });

    it('drops what was queued for a stream that ended, and replays it on the next', async () => {
      const env = setup();
      await settle();
      env.transport.last.hello('conn-1', true);
      await settle();
      const pub = env.client.publish({ dataId: 'svc' }, '10.0.0.1:12200');
      const first = env.transport.last;
      const next = await reconnect(env);
      expect(first.sentOf('publish')).toEqual([]);
      next.hello('conn-2', true);
      await settle();
      expect(next.sentOf('publish').map((p) => p.registerId)).toEqual([pub.registerId]);
      await env.client.close();
    });

    it('rejects synced() when the session refuses for good; the stream stays up and the record is not replayed', async () => {
      const env = await connected();
      const { transport, client, logs } = env;
      const bad = client.publish({ dataId: 'svc' }, 'a:1');
      const good = client.publish({ dataId: 'other' }, 'b:1');
      const [req] = transport.last.sentOf('publish');
      transport.last.refuse(
        req.requestId,
        req.registerId,
        'InvalidArgument',
        'dataList[0] is not an address',
        'dataList[0]',
      );
      await expect(bad.synced()).rejects.toMatchObject({ code: 'InvalidArgument', field: 'dataList[0]' });
      expect(bad.active).toBe(false);
      expect(() => bad.republish('x')).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      expect(client.phase).toBe('connected');
      expect(logs.some((l) => l.message === 'session refused a registration')).toBe(true);
      const next = await reconnect(env);
      next.hello();
      expect(next.sentOf('publish').map((p) => p.registerId)).toEqual([good.registerId]);
      await client.close();
    });

    it('resends after a delay when the session refuses for now', async () => {
      const { clock, transport, client } = await connected();
      const pub = client.publish({ dataId: 'svc' }, 'a:1');
      const [req] = transport.last.sentOf('publish');
      transport.last.refuse(req.requestId, req.registerId, 'Unavailable', 'data leader unknown');
      expect(transport.last.sentOf('publish')).toHaveLength(1);
      clock.advance(100); // the backoff's first delay with random()=0
      const sent = transport.last.sentOf('publish');
      expect(sent).toHaveLength(2);
      transport.last.ok(sent[1].requestId, sent[1].registerId, 1);
      await pub.synced();
      await client.close();
    });

    it('keeps resending a newer version refused for now even when the older version is acknowledged after', async () => {
      const { clock, transport, client } = await connected();
      const pub = client.publish({ dataId: 'svc' }, 'a:1');
      pub.republish('a:2');
      const [v1, v2] = transport.last.sentOf('publish');
      transport.last.refuse(v2.requestId, v2.registerId, 'Unavailable', 'data leader moving');
      transport.last.ok(v1.requestId, v1.registerId, 1); // out of order: the session answers v1 last
      expect(pub.ackedVersion).toBe(1);
      clock.advance(100);
      const resent = transport.last.sentOf('publish')[2];
      expect(resent).toMatchObject({ version: 2, dataList: ['a:2'] });
      transport.last.ok(resent.requestId, resent.registerId, 2);
      await pub.synced();
      expect(pub.ackedVersion).toBe(2);
      await client.close();
    });

    it('rejects synced() after its timeout but keeps the registration', async () => {
      const { clock, client } = await connected();
      const pub = client.publish({ dataId: 'svc' }, 'a:1');
      const p = pub.synced({ timeoutMs: 50 });
      clock.advance(50);
      await expect(p).rejects.toMatchObject({ code: 'Unavailable' });
      expect(pub.active).toBe(true);
      await client.close();
    });

    it('unregisters through the session when connected, locally when not', async () => {
      const env = await connected();
      const { transport, client } = env;
      const a = client.publish({ dataId: 'a' }, 'a:1');
      const b = client.subscribe({ dataId: 'b', scope: 'global' }, () => undefined);
      transport.last.ackAll();
      let done = false;
      const ua = a.unregister().then(() => (done = true));
      expect(a.unregister()).toBe(a.unregister()); // idempotent
      await settle();
      expect(done).toBe(false);
      expect(transport.last.sentOf('unpublish')).toEqual([{ requestId: 3, registerId: a.registerId, version: 1 }]);
      transport.last.ackAll();
      await ua;
      await expect(a.synced()).rejects.toMatchObject({ code: 'Closed' });
      // Offline: resolves at once, and is not replayed.
      env.transport.last.end(new Error('gone'));
      await b.unregister();
      env.clock.runNext();
      await settle();
      env.transport.last.hello();
      expect(env.transport.last.cases()).toEqual(['hello']);
      await client.close();
    });

    it('completes an in-flight unregister when the connection drops', async () => {
      const { transport, client } = await connected();
      const a = client.publish({ dataId: 'a' }, 'a:1');
      transport.last.ackAll();
      const u = a.unregister();
      transport.last.end(new Error('gone'));
      await u;
      await client.close();
    });
  });

  describe('reconnecting', () => {
    it('replays every registration at its current version before what was created offline', async () => {
      const env = await connected();
      const { client, transport } = env;
      const p1 = client.publish({ dataId: 'p1' }, 'a:1');
      const s1 = client.subscribe({ dataId: 's1', scope: 'dataCenter' }, () => undefined);
      const c1 = client.watchConfig({ key: 'stopPush' }, () => undefined);
      transport.last.ackAll();
      transport.last.end(new Error('14 UNAVAILABLE: session died'));
      // Offline: a republish, and a new publisher.
      p1.republish('a:2');
      const p2 = client.publish({ dataId: 'p2' }, 'b:1');
      let p1Synced = false;
      void p1.synced().then(() => (p1Synced = true));
      env.clock.runNext();
      await settle();
      const next = transport.last;
      expect(next.server).toBe('s2:9600');
      expect(next.cases()).toEqual(['hello']);
      next.hello();
      expect(
        next.sent.map((m) =>
          m.body?.$case === 'hello'
            ? 'hello'
            : `${m.body?.$case}:${(m.body?.value as { registerId: string }).registerId}`,
        ),
      ).toEqual([
        'hello',
        `publish:${p1.registerId}`,
        `subscribe:${s1.registerId}`,
        `watchConfig:${c1.registerId}`,
        `publish:${p2.registerId}`,
      ]);
      expect(next.sentOf('publish')[0]).toMatchObject({ version: 2, dataList: ['a:2'] });
      next.ackAll();
      await settle();
      expect(p1Synced).toBe(true);
      await client.close();
    });

    it('ignores messages and closes from a replaced stream (epoch guard)', async () => {
      const env = await connected();
      const { client, transport } = env;
      const seen: number[] = [];
      const sub = client.subscribe({ dataId: 'svc', scope: 'zone' }, (_id, d) => void seen.push(d.version));
      transport.last.ackAll();
      const old = transport.last;
      const next = await reconnect(env);
      next.hello();
      const [replayed] = next.sentOf('subscribe');
      // The old stream speaks late: a push, a result, and its end.
      old.push(sub.dataInfoId, [sub.registerId], 99);
      old.ok(replayed.requestId, replayed.registerId);
      old.end(new Error('late'));
      expect(seen).toEqual([]);
      expect(client.phase).toBe('connected');
      expect(client.stats().staleMessagesIgnored).toBeGreaterThanOrEqual(2);
      expect(old.sentOf('pushAck')).toEqual([]);
      next.push(sub.dataInfoId, [sub.registerId], 1);
      expect(seen).toEqual([1]);
      await client.close();
    });

    it('refuses new registrations with Overloaded once the offline queue is full', async () => {
      const { client, logs } = setup({ offlineQueueSize: 2 });
      client.publish({ dataId: 'a' }, 'a:1');
      client.subscribe({ dataId: 'b', scope: 'zone' }, () => undefined);
      expect(() => client.publish({ dataId: 'c' }, 'c:1')).toThrow(expect.objectContaining({ code: 'Overloaded' }));
      expect(logs.some((l) => l.message === 'offline queue full')).toBe(true);
      expect(client.stats()).toMatchObject({ registrations: 2, offlineQueued: 2 });
      await client.close();
    });
  });

  describe('pushes', () => {
    it('delivers only versions newer than the one held, and acks every push', async () => {
      const { transport, client } = await connected();
      const got: UserDataValue[] = [];
      const ids: string[] = [];
      const sub = client.subscribe({ dataId: 'svc', scope: 'zone' }, (dataId, data) => {
        ids.push(dataId);
        got.push(data);
      });
      expect(sub.peekData()).toBeUndefined();
      const c = transport.last;
      const p1 = c.push(sub.dataInfoId, [sub.registerId], 0); // first push, empty
      c.push(sub.dataInfoId, [sub.registerId], 3, { Z1: ['a:1'], Z2: ['b:1'] });
      c.push(sub.dataInfoId, [sub.registerId], 3, { Z1: ['stale'] });
      c.push(sub.dataInfoId, [sub.registerId], 2, { Z1: ['older'] });
      c.push(sub.dataInfoId, [sub.registerId], 4, { Z1: ['a:1', 'a:2'] });
      expect(got.map((d) => d.version)).toEqual([0, 3, 4]);
      expect(ids).toEqual(['svc', 'svc', 'svc']);
      expect(got[1]).toEqual({ zoneData: { Z1: ['a:1'], Z2: ['b:1'] }, localZone: 'DEFAULT_ZONE', version: 3 });
      expect(sub.peekData()?.zoneData).toEqual({ Z1: ['a:1', 'a:2'] });
      expect(c.sentOf('pushAck').map((a) => a.pushId)).toEqual([p1, p1 + 1, p1 + 2, p1 + 3, p1 + 4]);
      expect(client.stats()).toMatchObject({ pushesReceived: 5, pushesDelivered: 3, pushesDropped: 2 });
      await client.close();
    });

    it('serves several subscribers with one push, each by its own held version', async () => {
      const { transport, client } = await connected();
      const seen: string[] = [];
      const a = client.subscribe({ dataId: 'svc', scope: 'zone' }, (_i, d) => void seen.push(`a@${d.version}`));
      const b = client.subscribe({ dataId: 'svc', scope: 'zone' }, (_i, d) => void seen.push(`b@${d.version}`));
      transport.last.push(a.dataInfoId, [a.registerId], 5);
      transport.last.push(a.dataInfoId, [a.registerId, b.registerId], 5);
      expect(seen).toEqual(['a@5', 'b@5']);
      await client.close();
    });

    it('survives callbacks that throw or reject, logging them', async () => {
      const { transport, client, logs } = await connected();
      const seen: number[] = [];
      const bad = client.subscribe({ dataId: 'svc', scope: 'zone' }, () => {
        throw new Error('app bug');
      });
      const worse = client.subscribe({ dataId: 'svc', scope: 'zone' }, async () => {
        throw new Error('async app bug');
      });
      const good = client.subscribe({ dataId: 'svc', scope: 'zone' }, (_i, d) => void seen.push(d.version));
      transport.last.push(good.dataInfoId, [bad.registerId, worse.registerId, good.registerId], 1);
      await settle();
      expect(seen).toEqual([1]);
      expect(client.stats().callbackErrors).toBe(2);
      expect(logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
        'subscriber callback threw',
        'subscriber callback threw',
      ]);
      await client.close();
    });

    it('delivers config values, absent keys as undefined', async () => {
      const { transport, client } = await connected();
      const seen: [string, string | undefined, number][] = [];
      const cfg = client.watchConfig({ key: 'stopPush' }, (k, v, ver) => void seen.push([k, v, ver]));
      const deliver = (value: string, version: number, exists: boolean) =>
        transport.last.deliver({
          body: { $case: 'config', value: { registerIds: [cfg.registerId], key: 'stopPush', value, version, exists } },
        });
      deliver('', 0, false);
      deliver('true', 2, true);
      deliver('false', 1, true);
      expect(seen).toEqual([
        ['stopPush', undefined, 0],
        ['stopPush', 'true', 2],
      ]);
      expect(cfg.peekValue()).toBe('true');
      await client.close();
    });
  });

  describe('status and close', () => {
    it('reports connection changes as typed events, ending after closed', async () => {
      const { clock, transport, client } = setup();
      const events = collect(client.status());
      await settle();
      transport.last.hello('c1');
      transport.last.end(new Error('14 UNAVAILABLE: bye'));
      clock.runNext();
      await settle();
      transport.last.hello('c2');
      await client.close();
      expect(await events).toEqual([
        { type: 'connecting', attempt: 0 },
        {
          type: 'connected',
          server: 's1:9600',
          attempt: 0,
          connectId: 'c1',
          sessionAddress: 's1:9600',
          zone: 'DEFAULT_ZONE',
          reconnected: false,
        },
        { type: 'disconnected', server: 's1:9600', error: { code: 'Unavailable', message: '14 UNAVAILABLE: bye' } },
        {
          type: 'reconnecting',
          attempt: 1,
          delayMs: 100,
          error: { code: 'Unavailable', message: '14 UNAVAILABLE: bye' },
        },
        { type: 'connecting', attempt: 1 },
        {
          type: 'connected',
          server: 's2:9600',
          attempt: 1,
          connectId: 'c2',
          sessionAddress: 's2:9600',
          zone: 'DEFAULT_ZONE',
          reconnected: true,
        },
        { type: 'disconnected', server: 's2:9600' },
        { type: 'closed' },
      ]);
      // An iterator asked for after close is done at once.
      expect(await collect(client.status())).toEqual([]);
    });

    it('bounds each status iterator, dropping its oldest events', async () => {
      const { clock, transport, client } = setup({ statusBufferSize: 2, reconnectDelay: () => 1 });
      const it = client.status();
      for (let i = 0; i < 3; i++) {
        await settle();
        transport.last.end(new Error('x'));
        clock.runNext();
      }
      await client.close();
      const events = await collect(it);
      expect(events.map((e) => e.type)).toEqual(['connecting', 'closed']);
      expect(client.stats().statusEventsDropped).toBeGreaterThan(0);
    });

    it('close() tears down, rejects pending synced() with Closed, and closed() resolves undefined', async () => {
      const { transport, client } = await connected();
      const pub = client.publish({ dataId: 'svc' }, 'a:1');
      const pending = pub.synced();
      const ready = setup().client; // a client that never connects
      const readyWait = ready.ready();
      await Promise.all([client.close(), client.close(), ready.close()]);
      await expect(pending).rejects.toMatchObject({ code: 'Closed' });
      await expect(readyWait).rejects.toMatchObject({ code: 'Closed' });
      expect(transport.last.closedByClient).toBe(true);
      expect(await client.closed()).toBeUndefined();
      expect(client.phase).toBe('closed');
      expect(() => client.subscribe({ dataId: 'x', scope: 'zone' }, () => undefined)).toThrow(
        expect.objectContaining({ code: 'Closed' }),
      );
      await pub.unregister(); // nothing to do after close
    });

    it('ready() with a timeout rejects with Unavailable', async () => {
      const { clock, client } = setup();
      const p = client.ready({ timeoutMs: 10 });
      clock.advance(10);
      await expect(p).rejects.toMatchObject({ code: 'Unavailable' });
      await client.close();
    });
  });

  describe('discovery', () => {
    it('dials the less loaded of two discovered sessions, and avoids the one that just failed', async () => {
      const discover = jest.fn(async () => [
        { address: 'busy:1', weight: 900 },
        { address: 'idle:1', weight: 3 },
      ]);
      const { clock, transport, client } = setup({
        sessionServers: undefined,
        registryEndpoint: 'http://meta:9603/',
        discover,
      });
      await settle();
      expect(discover).toHaveBeenCalledWith('http://meta:9603');
      expect(transport.last.server).toBe('idle:1');
      transport.last.end(new Error('refused'));
      clock.runNext();
      await settle();
      expect(transport.last.server).toBe('busy:1');
      await client.close();
    });

    it('falls back to sessionServers when discovery fails, and retries when there is none', async () => {
      const discover = jest.fn(async () => {
        throw new Error('connect ECONNREFUSED');
      });
      const withFallback = setup({ registryEndpoint: 'http://x:9603', discover });
      await settle();
      expect(withFallback.transport.last.server).toBe('s1:9600');
      expect(withFallback.logs.some((l) => /discovery failed/.test(l.message))).toBe(true);
      await withFallback.client.close();

      const alone = setup({ sessionServers: undefined, registryEndpoint: 'http://x:9603', discover });
      const events = collect(alone.client.status());
      await settle();
      expect(alone.transport.connections).toHaveLength(0);
      expect(alone.client.phase).toBe('reconnecting');
      await alone.client.close();
      expect((await events).find((e) => e.type === 'reconnecting')).toMatchObject({
        error: { code: 'Unavailable', message: 'connect ECONNREFUSED' },
      });
    });
  });
});
