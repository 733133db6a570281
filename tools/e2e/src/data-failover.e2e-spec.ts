import { RegistryClient } from '@sofareg/client';
import { UserDataValue } from '@sofareg/model';
import { ClusterNode, LocalCluster, waitFor } from '@sofareg/testing';

/**
 * Killing data servers under load: 1 meta, 3 data servers (2 replicas per slot), 2 sessions, thousands of
 * publishers over hundreds of dataInfoIds, subscribers on both sessions. After each kill -9 (and after the
 * killed server restarts, and when a fourth server joins), no acknowledged publisher is lost, every subscriber converges within 5 s, and no
 * subscriber is ever pushed a list missing a publisher it had already seen (all publishers stay live).
 * FAILOVER_KILLS (default 2) sets how many kills; the figures printed are the convergence times.
 */
const DATA_IDS = Number(process.env.FAILOVER_DATA_IDS ?? 200);
const PER_ID = Number(process.env.FAILOVER_PUBLISHERS_PER_ID ?? 10);
const KILLS = Number(process.env.FAILOVER_KILLS ?? 2);
const PUBLISHER_CLIENTS = 8;

describe('data server failover', () => {
  let cluster: LocalCluster;
  const clients: RegistryClient[] = [];

  beforeAll(async () => {
    cluster = await LocalCluster.start({
      dataServers: 3,
      sessions: 2,
      metaArgs: ['--replicas', '2'],
      dataArgs: ['--replicas', '2'],
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await cluster?.stop();
  });

  it(`loses nothing and converges within 5 s through ${KILLS} kills of a data server and a join`, async () => {
    const ids = Array.from({ length: DATA_IDS }, (_, i) => `com.acme.failover.Service${i}`);
    // Publishers: PER_ID per dataInfoId, spread over clients of both sessions. Value = `<id>/<n>|v<version>`.
    const pubClients = Array.from(
      { length: PUBLISHER_CLIENTS },
      (_, i) => new RegistryClient({ sessionServers: [cluster.sessionAddresses[i % 2]], appName: `pub-${i}` }),
    );
    clients.push(...pubClients);
    type Pub = { key: string; handle: ReturnType<RegistryClient['publish']>; value: string; version: number };
    const pubs: Pub[] = [];
    const expected = new Map<string, Map<string, string>>(); // dataId -> key -> value
    ids.forEach((dataId, i) => {
      expected.set(dataId, new Map());
      for (let n = 0; n < PER_ID; n++) {
        const key = `${i}/${n}`;
        const value = `${key}|v1`;
        const handle = pubClients[(i * PER_ID + n) % PUBLISHER_CLIENTS].publish({ dataId }, value);
        pubs.push({ key, handle, value, version: 1 });
        expected.get(dataId)?.set(key, value);
      }
    });
    await Promise.all(pubs.map((p) => p.handle.synced()));

    // Subscribers on both sessions, recording violations of "never a shrunk list".
    const views = new Map<string, UserDataValue>(); // `${session}|${dataId}` -> last push
    const everSeen = new Map<string, Set<string>>();
    const violations: string[] = [];
    const subClients = [0, 1].map(
      (s) => new RegistryClient({ sessionServers: [cluster.sessionAddresses[s]], appName: `sub-${s}` }),
    );
    clients.push(...subClients);
    subClients.forEach((c, s) => {
      for (const dataId of ids) {
        c.subscribe({ dataId, scope: 'dataCenter' }, (_id, data) => {
          const k = `${s}|${dataId}`;
          const keys = new Set(
            Object.values(data.zoneData)
              .flat()
              .map((v) => v.split('|')[0]),
          );
          const seen = everSeen.get(k) ?? new Set<string>();
          for (const key of seen)
            if (!keys.has(key))
              violations.push(`${k}: push v${data.version} lacks ${key} (had ${seen.size}, now ${keys.size})`);
          for (const key of keys) seen.add(key);
          everSeen.set(k, seen);
          views.set(k, data);
        });
      }
    });
    const converged = () => {
      for (let s = 0; s < 2; s++) {
        for (const dataId of ids) {
          const want = expected.get(dataId) as Map<string, string>;
          const have = Object.values(views.get(`${s}|${dataId}`)?.zoneData ?? {}).flat();
          if (have.length !== want.size) return false;
          for (const v of have) if (want.get(v.split('|')[0]) !== v) return false;
        }
      }
      return true;
    };
    await waitFor('subscribers to see every publisher', converged, 30_000);

    /** Republishes a few publishers every 20 ms until stopped; returns the acknowledgements to wait for. */
    const writeLoad = (seed: number) => {
      let writing = true;
      const acks: Promise<void>[] = [];
      const done = (async () => {
        let i = seed;
        while (writing) {
          const p = pubs[(i * 31) % pubs.length];
          i++;
          p.version++;
          p.value = `${p.key}|v${p.version}`;
          expected.get(ids[Number(p.key.split('/')[0])])?.set(p.key, p.value);
          p.handle.republish(p.value);
          acks.push(p.handle.synced());
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      return async () => {
        writing = false;
        await done;
        await Promise.all(acks);
      };
    };

    const times: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const victim: ClusterNode = cluster.data[k % cluster.data.length];
      const stopWriting = writeLoad(k * 997);
      const killedAt = Date.now();
      await victim.process.kill();
      await new Promise((r) => setTimeout(r, 500));
      const writesDone = stopWriting();
      await waitFor('every subscriber converged after the kill', converged, 15_000, 10);
      const took = Date.now() - killedAt;
      times.push(took);
      await writesDone;
      console.log(`kill ${k + 1}: data server ${victim.address} killed; all subscribers converged in ${took} ms`);
      expect(took).toBeLessThan(5_000);
      // Bring it back (same address, empty memory): it rejoins as follower, then leads again.
      victim.process.start();
      await victim.process.ready();
      await waitFor(
        'the restarted server to hold replicas',
        async () => {
          const st = await victim.process.http<{ slots: { state: string }[] }>('/openapi/v1/slot/table/status');
          return st.slots.length > 0 && st.slots.every((s) => s.state === 'Accept' || s.state === 'Following');
        },
        20_000,
        100,
      );
      await waitFor('subscribers converged after the restart', converged, 10_000);
    }

    // A fourth data server joins under load: slots move to it with the same guarantees.
    const stopWriting = writeLoad(7_777);
    const joinedAt = Date.now();
    const added = await cluster.addData();
    await waitFor(
      'the new server to lead slots',
      async () => {
        const st = await added.process.http<{ slots: { role: string; state: string }[] }>(
          '/openapi/v1/slot/table/status',
        );
        return st.slots.some((s) => s.role === 'leader' && s.state === 'Accept');
      },
      20_000,
      100,
    );
    await stopWriting();
    await waitFor('every subscriber converged after the join', converged, 15_000, 10);
    console.log(
      `data server joined: it leads slots and every subscriber converged ${Date.now() - joinedAt} ms after it started`,
    );
    expect(violations.slice(0, 10)).toEqual([]);
    const sorted = [...times].sort((a, b) => a - b);
    const median =
      sorted.length % 2
        ? sorted[(sorted.length - 1) / 2]
        : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    console.log(
      `convergence after kill -9 of a data server: median ${median} ms, max ${sorted[sorted.length - 1]} ms over ${times.length} kills`,
    );
  }, 300_000);
});
