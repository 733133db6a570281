import type {
  FetchSlotPublishersRequest,
  FetchSlotPublishersResponse,
  Publisher,
  ReplicateRequest,
  ReplicateResponse,
  SlotTable,
  WriteResponse,
} from '@sofareg/contracts';
import { DataServerCore } from '../data-server-core';
import { DEFAULT_DRIVER_OPTIONS, DataNodeDriver, DataNodeDriverOptions } from './data-node-driver';
import type { DataNodePort, DriverScheduler, Reply } from './data-node-port';

const A = 'a:1';
const B = 'b:1';
const S1 = 's1:1';

/** Timers on a number line: `advance` runs what is due, in order. */
class ManualScheduler implements DriverScheduler {
  private t = 0;
  private queue: { at: number; seq: number; run: () => void; live: boolean }[] = [];
  private seq = 0;
  now(): number {
    return this.t;
  }
  after(delayMs: number, run: () => void): () => void {
    const e = { at: this.t + delayMs, seq: this.seq++, run, live: true };
    this.queue.push(e);
    return () => (e.live = false);
  }
  soon(run: () => void): void {
    this.after(0, run);
  }
  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      this.queue.sort((x, y) => x.at - y.at || x.seq - y.seq);
      const e = this.queue[0];
      if (!e || e.at > until) break;
      this.queue.shift();
      this.t = e.at;
      if (e.live) e.run();
    }
    this.t = until;
  }
}

/** A port whose calls wait in lists until the test answers them. */
class HeldPort implements DataNodePort {
  pages: { to: string; req: FetchSlotPublishersRequest; reply: Reply<FetchSlotPublishersResponse> }[] = [];
  replicates: { to: string; req: ReplicateRequest; reply: Reply<ReplicateResponse> }[] = [];
  fetchSlotPublishers(to: string, req: FetchSlotPublishersRequest, reply: Reply<FetchSlotPublishersResponse>): void {
    this.pages.push({ to, req, reply });
  }
  slotDigest(): void {
    // Digest rounds are not exercised here: the cadence is set beyond every test's horizon.
  }
  replicate(to: string, req: ReplicateRequest, reply: Reply<ReplicateResponse>): void {
    this.replicates.push({ to, req, reply });
  }
  slotSnapshot(): void {
    // Followers are not driven here.
  }
}

const SLOTS = 2;
function table(followers: string[]): SlotTable {
  return {
    epoch: 1,
    slotCount: SLOTS,
    replicas: 1 + followers.length,
    slots: [0, 1].map((id) => ({ id, leader: A, leaderEpoch: 1, followers })),
  };
}
function pub(dataInfoId: string, registerId: string): Publisher {
  return {
    dataInfoId,
    registerId,
    dataList: [registerId],
    zone: 'z',
    appName: '',
    clientId: '',
    processId: '',
    connectId: 'c',
    sessionProcessId: '',
    sessionAddress: S1,
    version: 1,
    registerTimestamp: 1,
    clientIp: '',
  };
}
const emptyPage = (): FetchSlotPublishersResponse => ({
  publishers: [],
  lastDataInfoId: '',
  done: true,
  sessionProcessId: '',
  snapshotTime: 0,
  versions: [],
});

/** A started driver of leader A of every slot, session S1 listed, its slot pages not answered yet. */
function unsynced(followers: string[] = [], opts: Partial<DataNodeDriverOptions> = {}) {
  const scheduler = new ManualScheduler();
  const port = new HeldPort();
  const core = new DataServerCore({
    self: A,
    dataCenter: 'dc',
    maxLogPerSlot: 100,
    maxOpsPerSlot: 10,
    sessionGraceMs: 1_000,
  });
  const timeouts = { n: 0 };
  const options = { ...DEFAULT_DRIVER_OPTIONS, digestIntervalMs: 1e9, ...opts };
  const driver = new DataNodeDriver(core, port, scheduler, options, undefined, {
    replicationWaitTimedOut: () => timeouts.n++,
  });
  driver.start();
  driver.onSessionNodes([{ address: S1, syncAddress: 'sync:1' }]);
  driver.onSlotTable(table(followers));
  return { scheduler, port, core, driver, timeouts };
}

/** The same, with every slot synced (S1 holds nothing). */
function setup(followers: string[], opts: Partial<DataNodeDriverOptions> = {}) {
  const made = unsynced(followers, opts);
  for (const p of made.port.pages.splice(0)) p.reply(emptyPage());
  return made;
}

function write(driver: DataNodeDriver, p: Publisher, answers: WriteResponse[]): void {
  const req = {
    sessionAddress: S1,
    sessionProcessId: '',
    slotTableEpoch: 1,
    ops: [{ op: { $case: 'publish' as const, value: p } }],
    callId: 7,
  };
  driver.write(req, (res) => answers.push(res));
}

describe('DataNodeDriver', () => {
  it('pages each slot from the session at its sync address and serves reads once every page is in', () => {
    const { port, driver } = unsynced();
    const read = () => driver.getData({ dataInfoIds: ['svc'], dataCenter: '', slotTableEpoch: 1 });
    expect(read().errors.map((e) => e.error?.code)).toEqual(['NotReady']);
    const pages = port.pages.splice(0);
    expect(pages.map((p) => [p.to, p.req.slotId, p.req.requester])).toEqual([
      ['sync:1', 0, A],
      ['sync:1', 1, A],
    ]);
    for (const p of pages) p.reply(emptyPage());
    expect(read().data).toHaveLength(1);
  });

  it('retries a failed slot page after a backoff, not at once', () => {
    const { scheduler, port } = unsynced();
    expect(port.pages).toHaveLength(2);
    port.pages.splice(0).forEach((p) => p.reply(new Error('unavailable')));
    expect(port.pages).toHaveLength(0);
    scheduler.advance(49);
    expect(port.pages).toHaveLength(0);
    scheduler.advance(1);
    expect(port.pages).toHaveLength(2);
  });

  it('answers a write once its follower has the ops', () => {
    const { port, driver } = setup([B]);
    // The new follower is told to install a snapshot first; it is still fetching one (NotReady).
    const tell = port.replicates.splice(0);
    expect(tell.map((c) => c.req.slots.map((s) => s.seq))).toEqual([[-1, -1]]);
    tell[0].reply({
      slots: tell[0].req.slots.map((s) => ({ slotId: s.slotId, ok: false, nextSeq: -1, error: undefined })),
      callId: 0,
    });
    driver.slotSnapshot({ slotId: 0, leaderEpoch: 1, follower: B });
    driver.slotSnapshot({ slotId: 1, leaderEpoch: 1, follower: B });
    const answers: WriteResponse[] = [];
    write(driver, pub('svc', 'r1'), answers);
    expect(answers).toEqual([]);
    const batch = port.replicates.splice(0);
    expect(batch).toHaveLength(1);
    const sent = batch[0].req.slots[0];
    batch[0].reply({
      slots: [{ slotId: sent.slotId, ok: true, nextSeq: sent.seq + sent.ops.length, error: undefined }],
      callId: 0,
    });
    expect(answers.map((a) => [a.callId, a.results[0].ok])).toEqual([[7, true]]);
  });

  it('answers a write after the bound when a follower does not answer, and counts it', () => {
    const { scheduler, port, driver, timeouts } = setup([B], { replicationWaitMs: 300 });
    port.replicates.splice(0);
    driver.slotSnapshot({ slotId: 0, leaderEpoch: 1, follower: B });
    driver.slotSnapshot({ slotId: 1, leaderEpoch: 1, follower: B });
    const answers: WriteResponse[] = [];
    write(driver, pub('svc', 'r1'), answers);
    scheduler.advance(299);
    expect(answers).toEqual([]);
    scheduler.advance(1);
    expect(answers).toHaveLength(1);
    expect(timeouts.n).toBe(1);
  });

  it('sends a watcher one batch per turn, with the highest version of each datum', () => {
    const { scheduler, driver } = setup([]);
    const batches: string[][] = [];
    driver.watch(S1, (b) => batches.push(b.changes.map((c) => c.dataInfoId)));
    const answers: WriteResponse[] = [];
    write(driver, pub('svc-a', 'r1'), answers);
    write(driver, pub('svc-a', 'r2'), answers);
    write(driver, pub('svc-b', 'r3'), answers);
    expect(batches).toEqual([]);
    scheduler.advance(0);
    expect(batches).toEqual([['svc-a', 'svc-b']]);
  });

  it('after stop, neither answers nor timers reach the core', () => {
    const { scheduler, port, driver, core } = setup([B]);
    const pending = port.replicates.splice(0);
    driver.stop();
    pending[0].reply(new Error('cancelled'));
    scheduler.advance(60_000);
    expect(port.replicates).toEqual([]);
    expect(core.slots.get(0)?.progress.get(B)?.tellSnapshot).toBe(false);
  });
});
