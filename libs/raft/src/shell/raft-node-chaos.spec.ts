import { SeededRandom } from '../core';
import { KvStateMachine } from '../testing/kv-state-machine';
import { isRaftNodeError } from './errors';
import { LocalCluster, testSeed, waitUntil } from '../../test/local-cluster';

const put = (id: string, key: string) => KvStateMachine.encode({ op: 'put', id, key, value: id });

/**
 * Proposals from every node while the network is cut and healed at random: every acknowledged write ends up
 * on every node, and no write reported as definitely not applied (NotLeader, ProposalDropped) is there.
 */
describe.each([
  ['pipelined', true],
  ['strictly ordered', false],
])('RaftNode under random partitions, %s Readies', (_name, pipelining) => {
  let cluster: LocalCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('keeps every acknowledged write and none that was refused', async () => {
    const base = testSeed(`chaos-${pipelining ? 'pipelined' : 'strict'}`);
    let total = 0;
    for (let s = 0; s < 3; s++) {
      const seed = base + s;
      const rnd = new SeededRandom(seed);
      const c = (cluster = new LocalCluster(['a', 'b', 'c'], seed, {
        pipelining,
        snapshotEntries: 40,
        compactionKeepEntries: 5,
        proposalTimeoutMs: 1_000,
      }));
      await c.startAll();
      await c.leader(10_000);
      const acked = new Set<string>();
      const refused = new Set<string>();
      let n = 0;
      const deadline = Date.now() + 1_500;
      while (Date.now() < deadline) {
        const r = rnd.next();
        if (r < 0.1) c.net.isolate(rnd.pick(c.ids), c.ids);
        else if (r < 0.2) c.net.heal();
        const batch = Array.from({ length: rnd.int(1, 20) }, () => {
          const key = `k${n++}`;
          const node = c.get(rnd.pick(c.ids)).node;
          return node.propose(put(key, key)).then(
            () => acked.add(key),
            (e: unknown) => {
              if (isRaftNodeError(e, 'NotLeader') || isRaftNodeError(e, 'ProposalDropped')) refused.add(key);
            },
          );
        });
        await Promise.all(batch);
        await new Promise((res) => setTimeout(res, rnd.int(0, 30)));
      }
      c.net.heal();
      const leader = await c.leader(10_000);
      await leader.node.propose(put('final', 'final'));
      await waitUntil(
        'replicas converge',
        () => [...c.nodes.values()].every((x) => x.kv.get('final') !== null && x.kv.digest() === leader.kv.digest()),
        10_000,
      );
      for (const x of c.nodes.values()) {
        for (const k of acked) expect([seed, x.id, k, x.kv.get(k)]).toEqual([seed, x.id, k, k]);
        for (const k of refused) expect([seed, x.id, k, x.kv.get(k)]).toEqual([seed, x.id, k, null]);
      }
      total += acked.size;
      await c.close();
      cluster = undefined;
    }
    expect(total).toBeGreaterThan(0);
  }, 60_000);
});
