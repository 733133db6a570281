import type { Datum, ServerMessage, SlotTable } from '@sofareg/contracts';
import { PROVIDE_DATA_KEYS } from '@sofareg/model';
import { Metrics } from '@sofareg/server-kit';
import { DEFAULT_SWITCHES, SessionRegistry, SwitchState, applySwitch } from '@sofareg/session-core';
import { PushPipeline } from './push-pipeline';
import { ChangeSink, SessionPort, systemScheduler } from './session-port';

const ID = 'com.acme.Svc#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP';

function datum(version: number, ...addresses: string[]): Datum {
  return owned(version, ...addresses.map((a): [string, string] => [a, 'live:1']));
}

/** A datum whose publishers (registerId = address) are owned by the given sessions. */
function owned(version: number, ...pubs: [address: string, session: string][]): Datum {
  return {
    dataInfoId: ID,
    version,
    dataCenter: 'dc',
    publishers: pubs.map(([a, session], i) => ({
      dataInfoId: ID,
      registerId: a,
      dataList: [a],
      zone: 'z',
      appName: '',
      clientId: '',
      processId: '',
      connectId: '',
      sessionProcessId: '',
      sessionAddress: session,
      version: 1,
      registerTimestamp: i,
      clientIp: '',
    })),
  };
}

/** A pipeline over fakes: one data server whose change stream the test drives, connections that record pushes. */
function setup(opts: { ackTimeoutMs?: number; breakerFailures?: number; scanIntervalMs?: number; first?: Datum } = {}) {
  const registry = new SessionRegistry();
  const sent = new Map<string, ServerMessage[]>();
  /** The data server's change stream, once the pipeline opened it. */
  let stream: ChangeSink | undefined;
  let current = opts.first ?? datum(1, 'a');
  let fetches = 0;
  const unused = () => Promise.reject(new Error('not used by the pipeline'));
  const port: SessionPort = {
    write: unused,
    getData: unused,
    clientOff: unused,
    watchChanges: (_address, sink) => {
      stream = sink;
      return { cancel: () => undefined };
    },
    send: (connectId, msg) => {
      const list = sent.get(connectId);
      if (!list) return undefined;
      list.push(msg);
      return true;
    },
  };
  const router = {
    fetch: async (ids: string[]) => {
      fetches++;
      await new Promise((r) => setTimeout(r, 2)); // a GetData round trip
      return { data: ids.includes(ID) ? [current] : [], failed: [] };
    },
  };
  let switches: SwitchState = DEFAULT_SWITCHES;
  const noop = () => undefined;
  const pipeline = new PushPipeline({
    registry,
    port,
    scheduler: systemScheduler,
    router,
    zone: 'z',
    logger: { info: noop, warn: noop, error: noop, debug: noop } as never,
    metrics: new Metrics('session'),
    slotTable: () => undefined,
    switches: () => switches,
    options: {
      retry: {
        ackTimeoutMs: opts.ackTimeoutMs ?? 1_000,
        initialBackoffMs: 100,
        maxBackoffMs: 400,
        breakerFailures: opts.breakerFailures ?? 3,
        breakerOpenMs: 10_000,
      },
      window: { maxDelayMs: 100, stepMs: 5, quietMs: 50 },
      scanIntervalMs: opts.scanIntervalMs ?? 0,
    },
  });
  const connect = (connectId: string) => void sent.set(connectId, []);
  const subscribe = (registerId: string, connectId: string, clientIp = '10.0.0.1') => {
    const s = registry.putSubscriber({ registerId, dataInfoId: ID, connectId, scope: 'zone', clientIp });
    pipeline.onSubscribe(s);
    return s;
  };
  const pushes = (connectId: string) =>
    (sent.get(connectId) ?? []).flatMap((m) => (m.body?.$case === 'push' ? [m.body.value] : []));
  const ackAll = (connectId: string) => {
    for (const p of pushes(connectId)) pipeline.onPushAck(p.pushId, connectId);
  };
  /** Data changes the datum and notifies; then `ms` pass (enough by default for a merged fetch to run). */
  const change = async (d: Datum, ms = 120) => {
    current = d;
    stream?.changes({ changes: [{ dataInfoId: ID, version: d.version }], slotTableEpoch: 1, dataServer: 'd:1' });
    await settle(ms);
  };
  const table: SlotTable = {
    epoch: 1,
    slotCount: 1,
    replicas: 1,
    slots: [{ id: 0, leader: 'd:1', leaderEpoch: 1, followers: [] }],
  };
  pipeline.onSlotTable(table);
  pipeline.start();
  return {
    pipeline,
    registry,
    connect,
    subscribe,
    pushes,
    ackAll,
    change,
    fetches: () => fetches,
    serve: (d: Datum) => void (current = d),
    setSwitch: (key: string, value: string) => (switches = applySwitch(switches, key, value)),
  };
}

/** Lets immediates, promise callbacks and due timers run (fake time stands still unless advanced). */
async function settle(ms = 0): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
  for (let i = 0; i < 5; i++) await jest.advanceTimersByTimeAsync(0);
}

describe('PushPipeline', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('fetches once and serves every subscriber of a connection and scope with one push; ack advances the acknowledged version', async () => {
    const t = setup();
    t.connect('c1');
    t.connect('c2');
    const s1 = t.subscribe('s1', 'c1');
    t.subscribe('s2', 'c1');
    t.subscribe('s3', 'c2');
    await settle(10);
    expect(t.fetches()).toBe(1);
    expect(t.pushes('c1').map((p) => p.registerIds)).toEqual([['s1', 's2']]);
    t.subscribe('s4', 'c1'); // a later subscriber is pushed from the cache
    expect(t.pushes('c1').map((p) => p.registerIds)).toEqual([['s1', 's2'], ['s4']]);
    expect(t.fetches()).toBe(1);
    t.ackAll('c1');
    t.ackAll('c2');
    expect(s1.ackedVersion).toBe(1);
    const before = t.fetches();
    await t.change(datum(2, 'a', 'b'));
    expect(t.fetches()).toBe(before + 1);
    const last = t.pushes('c1').at(-1);
    if (!last) throw new Error('no push');
    expect(last.registerIds).toEqual(['s1', 's2', 's4']);
    expect(last.data?.version).toBe(2);
    expect(s1.pushedVersion).toBe(2);
    expect(s1.ackedVersion).toBe(1); // not before the ack
    t.pipeline.onPushAck(last.pushId, 'c1');
    expect(s1.ackedVersion).toBe(2);
    t.pipeline.stop();
  });

  it('retries an unacknowledged push with backoff, then silences the subscriber (circuit breaker)', async () => {
    const t = setup({ ackTimeoutMs: 1_000, breakerFailures: 3 });
    t.connect('c1');
    const s = t.subscribe('s1', 'c1');
    await settle(10);
    expect(t.pushes('c1')).toHaveLength(1);
    await settle(1_050); // ack deadline passes: failure 1, retry after 100 ms
    expect(s.failures).toBe(1);
    expect(s.pushedVersion).toBe(-1); // sent again later
    expect(t.pipeline.sentVersion(ID)).toBe(1); // but the client may hold it
    await settle(150);
    expect(t.pushes('c1')).toHaveLength(2);
    await settle(1_050 + 250); // failure 2, retry after 200 ms
    expect(s.failures).toBe(2);
    expect(t.pushes('c1')).toHaveLength(3);
    await settle(1_100); // failure 3: silenced for 10 s
    expect(s.failures).toBe(3);
    expect(s.silencedUntil).toBeGreaterThan(Date.now() + 9_000);
    await t.change(datum(2, 'b')); // even a new version is not pushed while silenced
    await settle(5_000);
    expect(t.pushes('c1')).toHaveLength(3);
    await settle(5_500); // half-open: one more try, which the client acknowledges
    expect(t.pushes('c1')).toHaveLength(4);
    expect(t.pushes('c1')[3].data?.version).toBe(2);
    t.ackAll('c1');
    expect(s.failures).toBe(0);
    expect(s.ackedVersion).toBe(2);
    t.pipeline.stop();
  });

  it('retries every subscriber that failed, each when its own backoff ends, not only the earliest', async () => {
    const t = setup({ ackTimeoutMs: 1_000, breakerFailures: 10 });
    t.connect('c1');
    t.connect('c2');
    t.subscribe('a', 'c1');
    await settle(60);
    const b = t.subscribe('b', 'c2'); // fails ~60 ms after a, so its backoff ends later than a's
    expect(t.pushes('c2')).toHaveLength(1);
    // a acknowledges its retries; b never answers.
    for (let i = 0; i < 80; i++) {
      await settle(50);
      if (t.pushes('c1').length >= 2) t.ackAll('c1');
    }
    expect(b.failures).toBeGreaterThanOrEqual(2);
    expect(t.pushes('c2').length).toBeGreaterThanOrEqual(3); // first push and at least two retries in 4 s
    t.pipeline.stop();
  });

  it('takes a push acknowledgement only from the connection the push went to', async () => {
    const t = setup();
    t.connect('c1');
    t.connect('c2');
    const s1 = t.subscribe('s1', 'c1');
    await settle(10);
    const [push] = t.pushes('c1');
    const before = s1.ackedVersion;
    t.pipeline.onPushAck(push.pushId, 'c2');
    expect(s1.ackedVersion).toBe(before);
    t.pipeline.onPushAck(push.pushId, 'c1');
    expect(s1.ackedVersion).toBe(1);
    t.pipeline.stop();
  });

  it('holds pushes while stop-push is on (gray-open IPs excepted) and pushes the outstanding ones on resume', async () => {
    const t = setup();
    t.connect('c1');
    t.connect('c2');
    t.setSwitch(PROVIDE_DATA_KEYS.stopPush, 'true');
    t.setSwitch(PROVIDE_DATA_KEYS.grayOpen, '10.0.0.2');
    t.subscribe('s1', 'c1', '10.0.0.1');
    t.subscribe('s2', 'c2', '10.0.0.2');
    await settle(10);
    expect(t.pushes('c1')).toHaveLength(0);
    expect(t.pushes('c2')).toHaveLength(1);
    await t.change(datum(2, 'b'));
    expect(t.pushes('c1')).toHaveLength(0);
    t.setSwitch(PROVIDE_DATA_KEYS.stopPush, 'false');
    t.pipeline.resume();
    await settle(10);
    expect(t.pushes('c1').map((p) => p.data?.version)).toEqual([2]);
    expect(t.pushes('c1')[0].data?.zoneData).toEqual({ z: { dataList: ['b'] } });
    t.pipeline.stop();
  });

  it('merges a storm of changes to one dataInfoId into few fetches, pushing the newest', async () => {
    const t = setup();
    t.connect('c1');
    t.subscribe('s1', 'c1');
    await settle();
    t.ackAll('c1');
    const before = t.fetches();
    for (let v = 2; v <= 200; v++) {
      await t.change(datum(v, `a${v}`), 1); // a change every millisecond for 200 ms
      t.ackAll('c1');
    }
    await settle(200);
    const fetches = t.fetches() - before;
    expect(fetches).toBeLessThan(15); // ramp-up 5, 10, 20, 40, 80 ms, then one per 100 ms
    expect(t.pushes('c1').at(-1)?.data?.version).toBe(200);
    t.pipeline.stop();
  });

  it('repairs a missed change notification with the version scan', async () => {
    const t = setup({ scanIntervalMs: 1_000 });
    t.connect('c1');
    const s = t.subscribe('s1', 'c1');
    await settle(10);
    t.ackAll('c1');
    t.serve(datum(5, 'z')); // the datum changes at data, but the notification is lost
    await settle(500);
    expect(s.pushedVersion).toBe(1);
    await settle(600);
    expect(t.pushes('c1').at(-1)?.data?.version).toBe(5);
    expect(s.pushedVersion).toBe(5);
    t.pipeline.stop();
  });

  it('does not push a new version whose addresses a subscriber already holds', async () => {
    const t = setup({ first: owned(1, ['a', 'live:1']) });
    t.connect('c1');
    const s = t.subscribe('s1', 'c1');
    await settle(10);
    t.ackAll('c1');
    await t.change(owned(2, ['a', 's:1'])); // the publisher moved to this session: same list
    expect(t.pushes('c1').map((p) => p.data?.version)).toEqual([1]);
    t.connect('c2');
    t.subscribe('s2', 'c2'); // a new subscriber gets the current version
    expect(t.pushes('c2').map((p) => p.data?.version)).toEqual([2]);
    await t.change(owned(3, ['b', 's:1']));
    expect(t.pushes('c1').map((p) => p.data?.version)).toEqual([1, 3]);
    expect(s.pushedVersion).toBe(3);
    t.pipeline.stop();
  });

  it('forgets what it cached for a dataInfoId once its last subscriber left', async () => {
    const t = setup();
    t.connect('c1');
    t.subscribe('s1', 'c1');
    await settle(10);
    expect(t.pipeline.sentVersion(ID)).toBe(1);
    t.registry.removeSubscriber('s1', 'c1');
    await settle(11_000);
    expect(t.pipeline.sentVersion(ID)).toBe(-1);
    t.pipeline.stop();
  });
});
