import { UserDataValue } from '@sofareg/model';
import { RegistryClient } from '../src/registry-client';
import { Publisher, Subscriber } from '../src/registrations';
import { FakeSession, fakeSessionTransport } from '../src/testing/fake-session';
import { ManualClock, seededRandom, sequentialIds } from '../src/testing/manual-clock';

/** Lets queued microtasks and promise callbacks run (one macrotask turn). */
const settle = () => new Promise<void>((r) => setImmediate(r));

const DATA_IDS = ['svc.A', 'svc.B', 'svc.C'];
const dataInfoId = (dataId: string) => `${dataId}#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP`;
const flat = (zoneData: Record<string, readonly string[]> | undefined) =>
  Object.values(zoneData ?? {})
    .flat()
    .sort();

/**
 * Deterministic simulation: one client against an in-memory session that randomly drops every connection
 * or goes down for a while, under random publishes, republishes, subscribes and unregisters, with a manual
 * clock. After the storm, once connected again, the session must hold exactly the client's live
 * publishers at their latest data, each subscriber must hold exactly what the session has, and no
 * subscriber may ever have been handed a version that is not newer than the one before.
 */
describe('client simulation (seeded)', () => {
  const base = Number(process.env.SEED ?? 1);
  const seeds = Number(process.env.SEEDS ?? 25);

  it(`converges after random drops and outages (seeds ${base}..${base + seeds - 1})`, async () => {
    const totals = { connects: 0, dialFailures: 0, pushesDelivered: 0, pushesDropped: 0, staleMessagesIgnored: 0 };
    for (let seed = base; seed < base + seeds; seed++) {
      try {
        const stats = await simulate(seed);
        for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += stats[k];
      } catch (e) {
        throw new Error(`client simulation failed for SEED=${seed}: ${(e as Error).message}`);
      }
    }
    console.log(
      `client simulation: seeds ${base}..${base + seeds - 1} (replay one with SEED=<n> SEEDS=1): ${JSON.stringify(totals)}`,
    );
  }, 120_000);
});

async function simulate(seed: number): Promise<ReturnType<RegistryClient['stats']>> {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const clock = new ManualClock();
  const session = new FakeSession('s:1');
  const client = new RegistryClient({
    sessionServers: ['s:1'],
    appName: 'sim',
    transport: fakeSessionTransport([session]),
    clock,
    random,
    newId: sequentialIds(`s${seed}`),
    offlineQueueSize: 1_000,
  });
  const publishers: Publisher[] = [];
  const subscribers: Subscriber[] = [];
  const delivered = new Map<string, number[]>();
  let addr = 0;

  const subscribe = () => {
    const versions: number[] = [];
    const s = client.subscribe(
      { dataId: pick(DATA_IDS), scope: 'dataCenter' },
      (_id, d: UserDataValue) => void versions.push(d.version),
    );
    delivered.set(s.registerId, versions);
    subscribers.push(s);
  };

  for (let step = 0; step < 80; step++) {
    const r = random();
    if (r < 0.25) publishers.push(client.publish({ dataId: pick(DATA_IDS) }, `10.0.0.${++addr}:80`));
    else if (r < 0.4 && publishers.some((p) => p.active))
      pick(publishers.filter((p) => p.active)).republish(`10.0.1.${++addr}:80`, `10.0.2.${addr}:80`);
    else if (r < 0.5 && publishers.some((p) => p.active)) void pick(publishers.filter((p) => p.active)).unregister();
    else if (r < 0.62) subscribe();
    else if (r < 0.67 && subscribers.some((s) => s.active)) void pick(subscribers.filter((s) => s.active)).unregister();
    else if (r < 0.74) session.dropAll();
    else if (r < 0.78) {
      session.up = false;
      session.dropAll();
    } else if (r < 0.85) session.up = true;
    clock.advance(Math.floor(random() * 400));
    await settle();
  }

  // Calm: the session comes back; let the client reconnect and everything settle.
  session.up = true;
  for (let i = 0; i < 200 && !(client.phase === 'connected' && client.stats().inFlight === 0); i++) {
    clock.advance(500);
    await settle();
  }
  expect(client.phase).toBe('connected');
  await Promise.all(publishers.filter((p) => p.active).map((p) => p.synced()));
  await settle();

  for (const dataId of DATA_IDS) {
    const want = publishers
      .filter((p) => p.active && p.dataId === dataId)
      .flatMap((p) => [...p.dataList])
      .sort();
    expect(flat(session.published(dataInfoId(dataId)))).toEqual(want);
    for (const s of subscribers.filter((x) => x.active && x.dataId === dataId)) {
      expect(flat(s.peekData()?.zoneData)).toEqual(want);
    }
  }
  for (const [registerId, versions] of delivered) {
    for (let i = 1; i < versions.length; i++) {
      if (!(versions[i] > versions[i - 1]))
        throw new Error(`subscriber ${registerId} was delivered versions ${versions.join(',')}`);
    }
  }
  expect(client.stats().registrations).toBe(
    publishers.filter((p) => p.active).length + subscribers.filter((s) => s.active).length,
  );
  const stats = client.stats();
  await client.close();
  expect(session.connectionCount).toBe(0);
  return stats;
}
