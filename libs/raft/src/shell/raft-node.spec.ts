import { Role } from '../core';
import { KvStateMachine } from '../testing/kv-state-machine';
import { RaftNodeError } from './errors';
import { type ClusterNode, LocalCluster, testSeed, waitUntil } from '../../test/local-cluster';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const put = (id: string, key: string, value: string) => KvStateMachine.encode({ op: 'put', id, key, value });

describe.each([
  ['pipelined', true],
  ['strictly ordered', false],
])('RaftNode on a local network, %s Readies', (_name, pipelining) => {
  let cluster: LocalCluster;
  afterEach(async () => {
    await cluster?.close();
  });

  it('elects one leader, applies a proposal on every node and resolves with the state machine result', async () => {
    cluster = new LocalCluster(['a', 'b', 'c'], testSeed('basic'), { pipelining });
    await cluster.startAll();
    const leader = await cluster.leader();
    const result = await leader.node.propose(put('r1', 'k', 'v1'));
    expect(result).toEqual({ id: 'r1', ok: true });
    await waitUntil('every node applied k', () => [...cluster.nodes.values()].every((n) => n.kv.get('k') === 'v1'));
    const st = leader.node.status();
    expect(st.role).toBe(Role.Leader);
    expect(st.conf.voters).toEqual(['a', 'b', 'c']);
    expect(st.progress && Object.keys(st.progress).sort()).toEqual(['a', 'b', 'c']);
    expect(st.shell.proposalsApplied).toBe(1);
  });

  it('rejects a proposal on a follower with NotLeader naming the leader and its address', async () => {
    cluster = new LocalCluster(['a', 'b', 'c'], testSeed('not-leader'), { pipelining });
    await cluster.startAll();
    const leader = await cluster.leader();
    const follower = [...cluster.nodes.values()].find((n) => n !== leader) as ClusterNode;
    const err = await follower.node.propose(put('r', 'k', 'v')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftNodeError);
    expect(err).toMatchObject({ code: 'NotLeader', leaderId: leader.id, leaderAddress: cluster.peers[leader.id] });
  });

  it('batches many concurrent proposals and applies them in order everywhere', async () => {
    cluster = new LocalCluster(['a', 'b', 'c'], testSeed('batch'), { pipelining });
    await cluster.startAll();
    const leader = await cluster.leader();
    const n = 500;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => leader.node.propose(put(`r${i}`, `k${i % 50}`, `v${i}`))),
    );
    expect(results.every((r) => (r as { ok: boolean }).ok)).toBe(true);
    await waitUntil('replicas converge', () => {
      const ds = [...cluster.nodes.values()].map((x) => x.kv.digest());
      return ds.every((d) => d === ds[0]) && cluster.get('a').kv.get('k49') === 'v499';
    });
    expect(leader.node.status().shell.readyBatches).toBeLessThan(n);
  });

  it('serves a linearizable read barrier on a follower after a write', async () => {
    cluster = new LocalCluster(['a', 'b', 'c'], testSeed('read-index'), { pipelining });
    await cluster.startAll();
    const leader = await cluster.leader();
    const follower = [...cluster.nodes.values()].find((n) => n !== leader) as ClusterNode;
    await leader.node.propose(put('r', 'x', '1'));
    await follower.node.readIndex();
    expect(follower.kv.get('x')).toBe('1');
    await leader.node.readIndex();
    expect(follower.node.status().shell.readIndexServed).toBe(1);
  });

  it('elects a new leader when the leader is cut off; its pending proposal does not apply', async () => {
    cluster = new LocalCluster(['a', 'b', 'c'], testSeed('partition'), { pipelining });
    await cluster.startAll();
    const old = await cluster.leader();
    await old.node.propose(put('r0', 'k', 'before'));
    cluster.net.isolate(old.id, cluster.ids);
    const lost = old.node.propose(put('r1', 'k', 'lost')).catch((e: unknown) => e);
    const others = [...cluster.nodes.values()].filter((n) => n !== old);
    const next = await waitUntil('a new leader among the others', () =>
      others.find((n) => n.node.isLeader && n.node.leaderId === n.id),
    );
    await next.node.propose(put('r2', 'k', 'after'));
    cluster.net.heal();
    expect(await lost).toMatchObject({ code: 'ProposalDropped' });
    await waitUntil(
      'the old leader follows and converges',
      () => old.node.leaderId === next.id && old.kv.get('k') === 'after',
    );
    // r0 applied; r1 was rejected (ProposalDropped) and nothing else.
    expect(old.node.status().shell).toMatchObject({ proposalsApplied: 1, proposalsRejected: 1 });
  });

  it('snapshots, compacts, and catches a lagging follower up with InstallSnapshot', async () => {
    cluster = new LocalCluster(['a', 'b', 'c'], testSeed('snapshot'), {
      pipelining,
      snapshotEntries: 50,
      compactionKeepEntries: 5,
    });
    await cluster.startAll();
    const leader = await cluster.leader();
    const lagging = [...cluster.nodes.values()].find((n) => n !== leader) as ClusterNode;
    cluster.net.isolate(lagging.id, cluster.ids);
    for (let i = 0; i < 200; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) => leader.node.propose(put(`r${i + j}`, `k${i + j}`, `v${i + j}`))),
      );
    }
    await waitUntil(
      'the leader compacted its log',
      () => leader.node.status().firstIndex > 100 && leader.node.status().shell.snapshotsTaken > 0,
    );
    cluster.net.heal();
    await waitUntil('the lagging follower caught up', () => lagging.kv.get('k199') === 'v199', 10_000);
    expect(lagging.node.status().shell.snapshotsInstalled).toBeGreaterThanOrEqual(1);
    expect(leader.node.status().transport.snapshotsSent).toBeGreaterThanOrEqual(1);
    expect(lagging.kv.digest()).toBe(leader.kv.digest());
  });

  it('restarts from durable storage: state machine rebuilt from snapshot plus log', async () => {
    cluster = new LocalCluster(
      ['a', 'b', 'c'],
      testSeed('restart'),
      { pipelining, snapshotEntries: 30, compactionKeepEntries: 3 },
      true,
    );
    await cluster.startAll();
    const leader = await cluster.leader();
    for (let i = 0; i < 100; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) => leader.node.propose(put(`r${i + j}`, `k${i + j}`, `v${i + j}`))),
      );
    }
    await waitUntil('every node applied all', () =>
      [...cluster.nodes.values()].every((n) => n.kv.get('k99') === 'v99'),
    );
    for (const id of cluster.ids) await cluster.crash(id);
    await cluster.startAll();
    await waitUntil('restored state', () =>
      [...cluster.nodes.values()].every((n) => n.kv.get('k99') === 'v99' && n.kv.get('k0') === 'v0'),
    );
    const l2 = await cluster.leader();
    await l2.node.propose(put('again', 'k', 'v'));
    expect(l2.node.status().snapshotIndex).toBeGreaterThan(0);
  });

  it('adds a learner, promotes it to voter, transfers leadership to it and removes a node', async () => {
    cluster = new LocalCluster(['a', 'b', 'c'], testSeed('membership'), { pipelining });
    await cluster.startAll();
    const leader = await cluster.leader();
    await leader.node.propose(put('r', 'k', 'v'));
    const dAddr = '127.0.0.1:20009';
    const d = await cluster.start('d', { join: true, peers: { d: dAddr } });
    const conf1 = await leader.node.addLearner('d', dAddr);
    expect(conf1).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
    // Caught up as the leader sees it (the learner applies before its acknowledgement reaches the leader).
    const caughtUp = () => {
      const st = leader.node.status();
      return d.kv.get('k') === 'v' && (st.progress?.d?.match ?? 0) >= st.commit;
    };
    await waitUntil('the learner caught up', caughtUp);
    const conf2 = await leader.node.addVoter('d');
    expect(conf2.voters).toEqual(['a', 'b', 'c', 'd']);
    await leader.node.transferLeadership('d');
    await waitUntil('d leads', () => d.node.isLeader);
    // A new leader accepts membership changes once it has committed an entry of its term.
    await d.node.propose(put('r1', 'k1', 'v1'));
    const victim = cluster.ids.find((id) => id !== leader.id) as string;
    const conf3 = await d.node.removeNode(victim);
    expect(conf3.voters).not.toContain(victim);
    expect(d.node.status().peers[victim]).toBeUndefined();
    await d.node.propose(put('r2', 'k2', 'v2'));
  });

  it('refuses a second membership change while one is pending, and unknown addresses', async () => {
    cluster = new LocalCluster(['a', 'b', 'c'], testSeed('conf-pending'), { pipelining });
    await cluster.startAll();
    const leader = await cluster.leader();
    await leader.node.propose(put('r', 'k', 'v'));
    await expect(leader.node.addVoter('x')).rejects.toMatchObject({ code: 'InvalidArgument' });
    const first = leader.node.addLearner('x', '127.0.0.1:20010');
    await expect(leader.node.addLearner('y', '127.0.0.1:20011')).rejects.toMatchObject({ code: 'ConfChangePending' });
    await first;
  });

  it('rejects pending proposals with Stopped on stop, and calls after it', async () => {
    cluster = new LocalCluster(['a', 'b', 'c'], testSeed('stop'), { pipelining });
    await cluster.startAll();
    const leader = await cluster.leader();
    for (const n of cluster.nodes.values()) if (n !== leader) cluster.net.isolate(n.id, cluster.ids);
    const p = leader.node.propose(put('r', 'k', 'v')).catch((e: unknown) => e);
    await leader.node.stop();
    expect(await p).toMatchObject({ code: 'Stopped' });
    await expect(leader.node.propose(put('r', 'k', 'v'))).rejects.toMatchObject({ code: 'Stopped' });
    expect(leader.node.state).toBe('stopped');
  });

  it('times out a proposal that cannot commit', async () => {
    cluster = new LocalCluster(['a', 'b', 'c'], testSeed('timeout'), {
      pipelining,
      proposalTimeoutMs: 100,
      electionTicks: 50,
    });
    await cluster.startAll();
    const leader = await cluster.leader();
    for (const id of cluster.ids) if (id !== leader.id) cluster.net.isolate(id, cluster.ids);
    await expect(leader.node.propose(put('r', 'k', 'v'))).rejects.toMatchObject({ code: 'Timeout' });
    expect(leader.node.status().shell.proposalsTimedOut).toBe(1);
  });

  it('times out proposals queued behind a Ready whose write does not complete', async () => {
    cluster = new LocalCluster(['a', 'b', 'c'], testSeed('queued-timeout'), {
      pipelining,
      proposalTimeoutMs: 200,
      electionTicks: 100,
    });
    await cluster.startAll();
    const leader = await cluster.leader();
    await leader.node.propose(put('r0', 'k', 'v0'));
    const gate = cluster.gate(leader.id);
    gate.hold();
    try {
      const inReady = leader.node.propose(put('r1', 'k', 'v1')).catch((e: unknown) => e);
      await waitUntil('the Ready writing r1 is stuck', () => gate.waiting > 0);
      // The Ready loop is busy: this one waits in the queue, never reaching the core.
      const queued = leader.node.propose(put('r2', 'k', 'v2')).catch((e: unknown) => e);
      expect(await Promise.race([queued, sleep(2_000).then(() => 'still waiting after 2 s')])).toMatchObject({
        code: 'Timeout',
      });
      expect(await inReady).toMatchObject({ code: 'Timeout' });
      expect(leader.node.status().shell.proposalsTimedOut).toBe(2);
      expect(leader.node.status().pendingProposals).toBe(0);
    } finally {
      gate.release();
    }
    // The expired proposal was never proposed.
    await leader.node.propose(put('r3', 'k3', 'v3'));
    expect(leader.kv.get('k')).toBe('v1');
  });

  it('times out each read of a batch by its own deadline, not by the oldest', async () => {
    const readTimeoutMs = 400;
    cluster = new LocalCluster(['a', 'b', 'c'], testSeed('read-deadlines'), {
      pipelining,
      readTimeoutMs,
      electionTicks: 100,
    });
    await cluster.startAll();
    const leader = await cluster.leader();
    await leader.node.propose(put('r0', 'k', 'v0')); // the leader has committed in its term: reads are not deferred
    const gate = cluster.gate(leader.id);
    gate.hold();
    let older: Promise<unknown>;
    let newer: Promise<{ err: unknown; at: number }>;
    let newerAt: number;
    try {
      void leader.node.propose(put('r1', 'k', 'v1')).catch(() => undefined);
      await waitUntil('the Ready writing r1 is stuck', () => gate.waiting > 0);
      // Both reads queue behind the stuck Ready, and reach the core together, as one batch.
      older = leader.node.readIndex().catch((e: unknown) => e);
      await sleep(readTimeoutMs / 2);
      newerAt = Date.now();
      newer = leader.node.readIndex().then(
        () => ({ err: undefined, at: Date.now() }),
        (err: unknown) => ({ err, at: Date.now() }),
      );
      cluster.net.isolate(leader.id, cluster.ids); // nobody confirms the batch
    } finally {
      gate.release();
    }
    expect(await older).toMatchObject({ code: 'Timeout' });
    const { err, at } = await newer;
    expect(err).toMatchObject({ code: 'Timeout' });
    expect(at - newerAt).toBeGreaterThanOrEqual(readTimeoutMs);
    expect(leader.node.status().shell.readIndexTimedOut).toBe(2);
  });

  it('reports leader changes to listeners', async () => {
    cluster = new LocalCluster(['a', 'b', 'c'], testSeed('events'), { pipelining });
    const seen: string[] = [];
    await cluster.startAll();
    const a = cluster.get('a');
    a.node.onLeaderChange((c) => seen.push(c.leader));
    const leader = await cluster.leader();
    await waitUntil('a saw the leader', () => seen.includes(leader.id) || a.node.leaderId === leader.id);
    expect(await a.node.waitForLeader(1000)).toBe(leader.id);
  });
});
