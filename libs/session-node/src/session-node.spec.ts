import type {
  ClientOffRequest,
  Datum,
  GetDataRequest,
  GetDataResponse,
  Publisher,
  ServerMessage,
  SlotTable,
  WriteRequest,
  WriteResponse,
} from '@sofareg/contracts';
import { slotOf } from '@sofareg/consistent-hash';
import { SeededRandom } from '@sofareg/model';
import { Metrics } from '@sofareg/server-kit';
import { DEFAULT_SWITCHES } from '@sofareg/session-core';
import { testPublisher } from '@sofareg/session-core/testing';
import { SessionNode } from './session-node';
import type { ChangeSink, ScheduledTask, Scheduler, SessionPort } from './session-port';

/** A virtual clock: tasks run only when the test advances time, in due order; promise callbacks run in between. */
class ManualScheduler implements Scheduler {
  private t = 0;
  private seq = 0;
  private readonly tasks: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];
  private readonly rnd = new SeededRandom(7);

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): ScheduledTask {
    const task = { at: this.t + ms, seq: this.seq++, fn, cancelled: false };
    this.tasks.push(task);
    return { cancel: () => void (task.cancelled = true) };
  }

  every(ms: number, fn: () => void): ScheduledTask {
    let current: ScheduledTask | undefined;
    let stopped = false;
    const tick = () => {
      if (stopped) return;
      fn();
      current = this.after(ms, tick);
    };
    current = this.after(ms, tick);
    return {
      cancel: () => {
        stopped = true;
        current?.cancel();
      },
    };
  }

  soon(fn: () => void): void {
    this.after(0, fn);
  }

  random(): number {
    return this.rnd.next();
  }

  /** Runs every task due within `ms` from now, letting promise callbacks settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const live = this.tasks.filter((x) => !x.cancelled && x.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = live[0];
      if (!next) break;
      this.tasks.splice(this.tasks.indexOf(next), 1);
      this.t = Math.max(this.t, next.at);
      next.fn();
      await settle();
    }
    this.t = end;
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

const SLOTS = 4;
const table = (epoch: number, leaderOf: (slot: number) => string): SlotTable => ({
  epoch,
  slotCount: SLOTS,
  replicas: 1,
  slots: Array.from({ length: SLOTS }, (_, id) => ({ id, leader: leaderOf(id), leaderEpoch: epoch, followers: [] })),
});

/** In-memory data servers and client connections behind the session's port. */
class FakeNetwork implements SessionPort {
  readonly writes: { leader: string; req: WriteRequest }[] = [];
  readonly clientOffs: { leader: string; req: ClientOffRequest }[] = [];
  readonly sent = new Map<string, ServerMessage[]>();
  readonly streams = new Map<string, ChangeSink>();
  /** Servers that refuse writes as SlotMoved (they stopped leading). */
  readonly moved = new Set<string>();
  /** Servers that cannot be reached. */
  readonly down = new Set<string>();
  readonly datums = new Map<string, Datum>();

  write(leader: string, req: WriteRequest): Promise<WriteResponse> {
    if (this.down.has(leader)) return Promise.reject(new Error(`${leader} is down`));
    this.writes.push({ leader, req });
    const moved = this.moved.has(leader);
    const results = req.ops.map(() =>
      moved
        ? { ok: false, error: { code: 'SlotMoved', message: 'not the leader', field: '', leader: '' } }
        : { ok: true, error: undefined },
    );
    return Promise.resolve({ results, slotTableEpoch: 1, callId: req.callId });
  }

  getData(leader: string, req: GetDataRequest): Promise<GetDataResponse> {
    if (this.down.has(leader)) return Promise.reject(new Error(`${leader} is down`));
    const data = req.dataInfoIds.flatMap((id) => this.datums.get(id) ?? []);
    return Promise.resolve({ data, errors: [] } as unknown as GetDataResponse);
  }

  clientOff(leader: string, req: ClientOffRequest): Promise<void> {
    if (this.down.has(leader)) return Promise.reject(new Error(`${leader} is down`));
    this.clientOffs.push({ leader, req });
    return Promise.resolve();
  }

  watchChanges(address: string, sink: ChangeSink) {
    this.streams.set(address, sink);
    return { cancel: () => void this.streams.delete(address) };
  }

  send(connectId: string, msg: ServerMessage): boolean | undefined {
    const list = this.sent.get(connectId);
    if (!list) return undefined;
    list.push(msg);
    return true;
  }

  registerIdsWrittenTo(leader: string): string[] {
    return this.writes
      .filter((w) => w.leader === leader)
      .flatMap((w) => w.req.ops.map((o) => (o.op?.$case === 'publish' ? o.op.value.registerId : '')));
  }
}

const publisher = (registerId: string, dataInfoId: string, connectId = 'c1', version = 1): Publisher =>
  testPublisher(dataInfoId, registerId, {
    dataList: [`10.0.0.1:${registerId}`],
    connectId,
    version,
    clientIp: '10.0.0.1',
  });

function setup() {
  const scheduler = new ManualScheduler();
  const net = new FakeNetwork();
  let current: SlotTable | undefined = table(1, (slot) => `d${slot % 2}`);
  const noop = () => undefined;
  const node = new SessionNode(
    {
      address: 's:1',
      processId: 'sp',
      zone: 'z',
      dataCenter: 'dc',
      write: { maxBatch: 100, maxInFlight: 2, retryForMs: 10_000, maxPending: 1_000 },
      push: {
        retry: {
          ackTimeoutMs: 1_000,
          initialBackoffMs: 100,
          maxBackoffMs: 400,
          breakerFailures: 3,
          breakerOpenMs: 5_000,
        },
        window: { maxDelayMs: 100, stepMs: 5, quietMs: 50 },
        scanIntervalMs: 0,
      },
    },
    {
      port: net,
      scheduler,
      logger: { info: noop, warn: noop, error: noop, debug: noop } as never,
      metrics: new Metrics('session'),
      slotTable: () => current,
      switches: () => DEFAULT_SWITCHES,
    },
  );
  node.start();
  node.onSlotTable(current);
  const setTable = (t: SlotTable) => {
    current = t;
    node.onSlotTable(t);
  };
  return { node, net, scheduler, setTable, leaderOf: (id: string) => current?.slots[slotOf(id, SLOTS)].leader };
}

/** A dataInfoId of `slot`. */
function idOf(slot: number): string {
  for (let i = 0; ; i++) if (slotOf(`svc-${i}`, SLOTS) === slot) return `svc-${i}`;
}

describe('SessionNode over an in-memory port and a virtual clock', () => {
  it('writes a publish to its slot leader and answers once data has', async () => {
    const { node, net, scheduler, leaderOf } = setup();
    const id = idOf(1);
    let answer: unknown;
    void node.publish(publisher('r1', id)).then((r) => (answer = r));
    expect(answer).toBeUndefined();
    await scheduler.advance(0);
    expect(net.registerIdsWrittenTo(leaderOf(id) as string)).toEqual(['r1']);
    expect(answer).toEqual({ ok: true, error: undefined });
  });

  it('refuses an older version of a publisher without writing it', async () => {
    const { node, net, scheduler } = setup();
    await Promise.all([node.publish(publisher('r1', idOf(0), 'c1', 5)), scheduler.advance(0)]);
    const r = await node.publish(publisher('r1', idOf(0), 'c1', 4));
    expect(r.error?.code).toBe('InvalidArgument');
    expect(net.writes).toHaveLength(1);
  });

  it('retries a write its server refused as SlotMoved, and sends it to the new leader as soon as the table moves', async () => {
    const { node, net, scheduler, setTable } = setup();
    const id = idOf(0);
    net.moved.add('d0');
    let answer: { ok: boolean } | undefined;
    void node.publish(publisher('r1', id)).then((r) => (answer = r));
    await scheduler.advance(0);
    expect(answer).toBeUndefined(); // backing off
    setTable(table(2, () => 'd9'));
    await scheduler.advance(0);
    expect(net.registerIdsWrittenTo('d9')).toEqual(['r1']);
    expect(answer?.ok).toBe(true);
  });

  it('routes a slot to a newer leader once it read the slot from this session, queued writes included', async () => {
    const { node, net, scheduler } = setup();
    const id = idOf(2);
    await Promise.all([node.publish(publisher('r1', id)), scheduler.advance(0)]);
    // The new leader pages the slot: it sees r1, and from now on every write of the slot goes to it.
    const page = node.fetchSlotPublishers({
      slotId: 2,
      slotTableEpoch: 5,
      afterDataInfoId: '',
      maxPublishers: 0,
      dataInfoIds: [],
      slotCount: SLOTS,
      requester: 'dNew',
    });
    expect(page.publishers.map((p) => p.registerId)).toEqual(['r1']);
    const later = node.publish(publisher('r2', id));
    await scheduler.advance(0);
    expect((await later).ok).toBe(true);
    expect(net.registerIdsWrittenTo('dNew')).toEqual(['r2']);
    expect(net.registerIdsWrittenTo('d0')).toEqual(['r1']);
  });

  it('serves a page from an index no older than the last publisher change, even within the index age', async () => {
    const { node, scheduler } = setup();
    const id = idOf(2);
    const page = () =>
      node.fetchSlotPublishers({
        slotId: 2,
        slotTableEpoch: 1,
        afterDataInfoId: '',
        maxPublishers: 0,
        dataInfoIds: [],
        slotCount: SLOTS,
        requester: 'd0',
      });
    expect(page().publishers).toEqual([]);
    // Written to the leader of the time: a leader syncing now (same table, no new hint) must still see it.
    await Promise.all([node.publish(publisher('r1', id)), scheduler.advance(0)]);
    expect(page().publishers.map((p) => p.registerId)).toEqual(['r1']);
    await Promise.all([node.unpublish('r1', 'c1', 1), scheduler.advance(0)]);
    expect(page().publishers).toEqual([]);
  });

  it('tells every slot leader of a closed connection, retrying one that is down until it answers', async () => {
    const { node, net, scheduler } = setup();
    await Promise.all([node.publish(publisher('r1', idOf(0))), scheduler.advance(0)]);
    net.down.add('d1');
    expect(node.connectionClosed('c1')).toEqual({ publishers: 1, subscribers: 0 });
    await scheduler.advance(0);
    expect(net.clientOffs.map((c) => c.leader)).toEqual(['d0']);
    net.down.delete('d1');
    await scheduler.advance(5_000);
    expect(net.clientOffs.map((c) => [c.leader, c.req.connectIds])).toEqual([
      ['d0', ['c1']],
      ['d0', ['c1']],
      ['d1', ['c1']],
    ]);
    expect(node.slotDigest({ slotId: 0, slotTableEpoch: 1, slotCount: SLOTS }).digests).toEqual([]);
  });

  it('fetches a changed datum and pushes it to the subscriber; its version is what a new leader is told', async () => {
    const { node, net, scheduler } = setup();
    const id = idOf(3);
    net.sent.set('c1', []);
    net.datums.set(id, { dataInfoId: id, version: 1, dataCenter: 'dc', publishers: [] });
    node.subscribe({ registerId: 's1', dataInfoId: id, connectId: 'c1', scope: 'zone', clientIp: '10.0.0.1' });
    await scheduler.advance(10);
    net.datums.set(id, { dataInfoId: id, version: 2, dataCenter: 'dc', publishers: [publisher('r9', id, 'c9')] });
    net.streams.get('d1')?.changes({ changes: [{ dataInfoId: id, version: 2 }], slotTableEpoch: 1, dataServer: 'd1' });
    await scheduler.advance(200);
    const pushes = (net.sent.get('c1') ?? []).flatMap((m) => (m.body?.$case === 'push' ? [m.body.value] : []));
    expect(pushes.map((p) => p.data?.version)).toEqual([1, 2]);
    expect(pushes[1].data?.zoneData.z.dataList).toEqual(['10.0.0.1:r9']);
    const page = node.fetchSlotPublishers({
      slotId: 3,
      slotTableEpoch: 1,
      afterDataInfoId: '',
      maxPublishers: 0,
      dataInfoIds: [],
      slotCount: SLOTS,
      requester: 'd1',
    });
    expect(page.versions).toEqual([{ dataInfoId: id, version: 2 }]);
    node.stop();
  });
});
