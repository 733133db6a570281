/**
 * A client process of the push benchmark, driven by bench-push.ts over the IPC channel. It holds either
 * subscribers (sofareg) / watchers (etcd) and reports when all of them have seen a round's value, or registering
 * clients that register publishers (sofareg) / lease+put keys (etcd) with a bounded number in flight.
 */
import { RegistryClient } from '@sofareg/client';
import { Etcd3 } from 'etcd3';
import { wallNow } from './bench-util';

/** Messages from the coordinator. */
export type ToWorker =
  | { type: 'subs'; system: 'sofareg' | 'etcd'; targets: string[]; conns: number; perConn: number; key: string }
  | { type: 'reg'; system: 'sofareg' | 'etcd'; targets: string[]; conns: number }
  | { type: 'register'; count: number; inflight: number; prefix: string; offset: number }
  | { type: 'cpu' }
  | { type: 'close' };

/** Messages to the coordinator. */
export type FromWorker =
  | { type: 'progress'; done: number }
  | { type: 'loaded' }
  | { type: 'round'; round: number; at: number }
  | { type: 'registered'; count: number; failed: number; startedAt: number; endedAt: number }
  | { type: 'cpu'; ms: number }
  | { type: 'error'; message: string };

function send(m: FromWorker): void {
  process.send?.(m);
}

const roundOf = (value: string | undefined): number => {
  const m = value?.match(/^v(\d+)$/);
  return m ? Number(m[1]) : -1;
};

/** Counts, per round, the subscribers that have seen it; reports a round once all have. */
class RoundCounter {
  private readonly seen: number[];
  private readonly counts = new Map<number, number>();

  constructor(private readonly total: number) {
    this.seen = new Array<number>(total).fill(-1);
  }

  saw(index: number, round: number): void {
    if (round <= this.seen[index]) return;
    this.seen[index] = round;
    const n = (this.counts.get(round) ?? 0) + 1;
    this.counts.set(round, n);
    if (n === this.total) {
      this.counts.delete(round);
      send({ type: 'round', round, at: wallNow() });
    }
  }
}

const closers: (() => Promise<void>)[] = [];
let registrar: ((count: number, inflight: number, prefix: string, offset: number) => Promise<void>) | undefined;

async function subsSofareg(targets: string[], conns: number, perConn: number, key: string): Promise<void> {
  const counter = new RoundCounter(conns * perConn);
  let ready = 0;
  for (let c = 0; c < conns; c++) {
    const client = new RegistryClient({ sessionServers: [targets[c % targets.length]], appName: 'bench-sub' });
    closers.push(() => client.close());
    await client.ready({ timeoutMs: 60_000 });
    const subs = [];
    for (let s = 0; s < perConn; s++) {
      const index = c * perConn + s;
      subs.push(
        client.subscribe({ dataId: key, scope: 'dataCenter' }, (_id, data) => {
          for (const zone in data.zoneData) for (const v of data.zoneData[zone]) counter.saw(index, roundOf(v));
        }),
      );
    }
    await Promise.all(subs.map((s) => s.synced()));
    ready += perConn;
    send({ type: 'progress', done: ready });
  }
  send({ type: 'loaded' });
}

async function subsEtcd(url: string, conns: number, perConn: number, key: string): Promise<void> {
  const counter = new RoundCounter(conns * perConn);
  let ready = 0;
  for (let c = 0; c < conns; c++) {
    const client = new Etcd3({ hosts: url, grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } });
    closers.push(async () => client.close());
    const watchers = [];
    for (let s = 0; s < perConn; s++) {
      const index = c * perConn + s;
      watchers.push(
        client
          .watch()
          .key(key)
          .create()
          .then((w) => w.on('put', (kv) => counter.saw(index, roundOf(kv.value.toString())))),
      );
    }
    await Promise.all(watchers);
    ready += perConn;
    send({ type: 'progress', done: ready });
  }
  send({ type: 'loaded' });
}

/** Runs `count` operations with at most `inflight` at once; resolves with how many failed. */
async function pool(count: number, inflight: number, op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  let failed = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      try {
        await op(i);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, lane));
  return failed;
}

async function regSofareg(targets: string[], conns: number): Promise<void> {
  const clients: RegistryClient[] = [];
  for (let c = 0; c < conns; c++) {
    const client = new RegistryClient({
      sessionServers: [targets[c % targets.length]],
      appName: 'bench-reg',
      offlineQueueSize: 100_000,
    });
    closers.push(() => client.close());
    clients.push(client);
  }
  await Promise.all(clients.map((c) => c.ready({ timeoutMs: 60_000 })));
  registrar = async (count, inflight, prefix, offset) => {
    const startedAt = wallNow();
    const failed = await pool(count, inflight, async (i) => {
      const n = offset + i;
      await clients[i % clients.length]
        .publish({ dataId: `${prefix}.${n % 5_000}` }, `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:12200`)
        .synced({ timeoutMs: 30_000 });
    });
    send({ type: 'registered', count, failed, startedAt, endedAt: wallNow() });
  };
  send({ type: 'loaded' });
}

async function regEtcd(url: string, conns: number): Promise<void> {
  const clients: Etcd3[] = [];
  for (let c = 0; c < conns; c++) {
    const client = new Etcd3({ hosts: url, grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } });
    closers.push(async () => client.close());
    clients.push(client);
  }
  await Promise.all(clients.map((c) => c.get('warmup').string()));
  registrar = async (count, inflight, prefix, offset) => {
    const startedAt = wallNow();
    const failed = await pool(count, inflight, async (i) => {
      const n = offset + i;
      const client = clients[i % clients.length];
      const lease = await client.leaseClient.leaseGrant({ TTL: 600 });
      await client
        .put(`${prefix}/${n % 5_000}/${n}`)
        .value(`10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:12200`)
        .lease(lease.ID);
    });
    send({ type: 'registered', count, failed, startedAt, endedAt: wallNow() });
  };
  send({ type: 'loaded' });
}

let cpuMark = process.cpuUsage();

process.on('message', (m: ToWorker) => {
  const run = async () => {
    switch (m.type) {
      case 'subs':
        return m.system === 'sofareg'
          ? subsSofareg(m.targets, m.conns, m.perConn, m.key)
          : subsEtcd(m.targets[0], m.conns, m.perConn, m.key);
      case 'reg':
        return m.system === 'sofareg' ? regSofareg(m.targets, m.conns) : regEtcd(m.targets[0], m.conns);
      case 'register':
        if (!registrar) throw new Error('register before reg');
        return registrar(m.count, m.inflight, m.prefix, m.offset);
      case 'cpu': {
        const u = process.cpuUsage(cpuMark);
        cpuMark = process.cpuUsage();
        send({ type: 'cpu', ms: (u.user + u.system) / 1_000 });
        return;
      }
      case 'close':
        await Promise.allSettled(closers.map((c) => c()));
        process.exit(0);
    }
  };
  run().catch((err: Error) => send({ type: 'error', message: err.stack ?? String(err) }));
});
process.on('disconnect', () => process.exit(0));
