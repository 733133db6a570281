/**
 * Three kv-server processes on loopback with file storage and the gRPC transport. The leader is killed with
 * SIGKILL under load; every acknowledged write must survive, a new leader must be elected within 2 s, and
 * the killed node, restarted far behind, must catch up (through InstallSnapshot: the snapshot threshold is
 * low) to the same state.
 */
import { waitFor } from '@sofareg/testing';
import { KvCluster, type KvProcess } from './kv-cluster';

jest.setTimeout(120_000);

const SNAPSHOT_ENTRIES = 300;
const KEEP_ENTRIES = 20;

describe('Raft kv servers as real processes', () => {
  let cluster: KvCluster;

  beforeAll(async () => {
    cluster = await KvCluster.create(3, { snapshotEntries: SNAPSHOT_ENTRIES, keepEntries: KEEP_ENTRIES });
    await cluster.startAll();
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it('loses no acknowledged write when the leader is killed, elects a new leader within 2 s, and the restarted node catches up by snapshot', async () => {
    const { node: oldLeader, term: oldTerm } = await cluster.leader();
    const acked = new Map<string, string>();
    let target: KvProcess = oldLeader;
    let stop = false;
    let errors = 0;
    const pick = (avoid: KvProcess) => {
      const others = cluster.nodes.filter((n) => n !== avoid && n.running);
      return others[Math.floor(Math.random() * others.length)] ?? avoid;
    };
    const writer = async (w: number) => {
      for (let seq = 0; !stop && seq < 100_000; seq++) {
        const key = `w${w}-${seq}`;
        const value = `v${w}-${seq}`;
        for (let attempt = 0; !stop; attempt++) {
          const at = target;
          try {
            const r = await at.put(key, value, 3_000);
            if (r.ok) {
              acked.set(key, value);
              break;
            }
            errors++;
            if (r.error?.code === 'NotLeader' && r.error.leaderId) target = cluster.node(r.error.leaderId);
            else await new Promise((res) => setTimeout(res, 10));
          } catch {
            errors++;
            if (target === at) target = pick(at);
            await new Promise((res) => setTimeout(res, 10));
          }
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));

    // Load with the leader alive.
    const t1 = Date.now();
    while (Date.now() - t1 < 1_500 || acked.size < 500) await new Promise((r) => setTimeout(r, 20));
    const beforeKill = acked.size;

    // Kill the leader and time the election among the survivors.
    const killedAt = Date.now();
    await oldLeader.kill();
    const survivors = cluster.nodes.filter((n) => n !== oldLeader);
    let failoverMs = -1;
    let newTerm = 0;
    while (Date.now() - killedAt < 10_000) {
      const sts = await Promise.all(survivors.map((n) => n.status(200)));
      const lead = sts.find((s) => s?.role === 'Leader' && s.term > oldTerm);
      if (lead) {
        failoverMs = Date.now() - killedAt;
        newTerm = lead.term;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    console.log(
      `failover: new leader elected ${failoverMs} ms after kill -9 of leader ${oldLeader.id} (term ${oldTerm} -> ${newTerm}); ${beforeKill} writes acknowledged before`,
    );
    expect(failoverMs).toBeGreaterThanOrEqual(0);
    expect(failoverMs).toBeLessThan(2_000);

    // Keep writing until the killed node is far behind the survivors' compaction point.
    const t2 = Date.now();
    while (Date.now() - t2 < 1_000 || acked.size - beforeKill < 3 * (SNAPSHOT_ENTRIES + KEEP_ENTRIES)) {
      await new Promise((r) => setTimeout(r, 20));
      if (Date.now() - t2 > 60_000)
        throw new Error(`writes stalled after the kill: ${acked.size - beforeKill} acknowledged, ${errors} errors`);
    }
    stop = true;
    await Promise.all(writers);
    const { node: leader } = await cluster.leader();
    const lst = await waitForStatus(leader, () => true, 5_000);
    expect(lst.firstIndex).toBeGreaterThan(1);

    // Restart the killed node: it must catch up through a snapshot.
    const restartAt = Date.now();
    oldLeader.start();
    await oldLeader.ready();
    const caught = await waitForStatus(oldLeader, (s) => s.kvApplied >= lst.commit, 30_000);
    console.log(
      `catch-up: ${oldLeader.id} restarted with the leader at commit ${lst.commit} (log compacted below ${lst.firstIndex}), caught up in ${Date.now() - restartAt} ms ` +
        `(process start included), snapshots installed: ${caught.shell.snapshotsInstalled}; ${acked.size} writes acknowledged, ${errors} retried errors`,
    );
    expect(caught.shell.snapshotsInstalled).toBeGreaterThanOrEqual(1);

    // Every node holds the same state, and it contains every acknowledged write.
    const digests = await Promise.all(
      cluster.nodes.map((n) => waitForStatus(n, (s) => s.kvApplied >= lst.commit, 10_000)),
    );
    expect(new Set(digests.map((s) => s.kvDigest)).size).toBe(1);
    const keys = [...acked.keys()];
    let missing = 0;
    for (let i = 0; i < keys.length; i += 64) {
      const got = await Promise.all(keys.slice(i, i + 64).map((k) => oldLeader.get(k, false)));
      got.forEach((g, j) => {
        if (!g.found || g.value.toString() !== acked.get(keys[i + j])) missing++;
      });
    }
    expect(missing).toBe(0);
    const lin = await leader.get(keys[keys.length - 1], true);
    expect(lin.value.toString()).toBe(acked.get(keys[keys.length - 1]));
  });
});

type KvStatus = NonNullable<Awaited<ReturnType<KvProcess['status']>>>;

/** Polls `node`'s status until `ok` holds; on timeout the error shows the last status seen. */
async function waitForStatus(node: KvProcess, ok: (status: KvStatus) => boolean, timeoutMs: number): Promise<KvStatus> {
  let last: KvStatus | undefined;
  const reached = async () => {
    last = (await node.status(500)) ?? last;
    return last && ok(last) ? last : undefined;
  };
  try {
    return await waitFor(`${node.id} to reach the expected state`, reached, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status ${JSON.stringify(last)}`, { cause: err });
  }
}
