import * as grpc from '@grpc/grpc-js';
import { RaftMessageType, RaftTransportClient } from '@sofareg/contracts';
import { freePort } from '@sofareg/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../core';
import { createMemoryRaftStorage, openRaftStorage } from '../storage';
import { KvStateMachine } from '../testing/kv-state-machine';
import { GrpcTransport } from './grpc-transport';
import { testSeed, waitUntil } from '../../test/local-cluster';
import { RaftNode, type RaftNodeOptions } from './raft-node';

const SILENT = { info: () => undefined, warn: () => undefined, error: () => undefined };
const put = (id: string, key: string, value: string) => KvStateMachine.encode({ op: 'put', id, key, value });

describe('RaftNode over the gRPC transport', () => {
  jest.setTimeout(30_000);
  const nodes: RaftNode[] = [];
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'raft-grpc-'));
  });
  afterEach(async () => {
    await Promise.allSettled(nodes.splice(0).map((n) => n.stop()));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function group(seed: number, extra: Partial<RaftNodeOptions> = {}, durable: string[] = []) {
    const ids = ['n1', 'n2', 'n3'];
    const peers = Object.fromEntries(
      await Promise.all(ids.map(async (id) => [id, `127.0.0.1:${await freePort()}`] as const)),
    );
    const kvs: Record<string, KvStateMachine> = {};
    const make = async (id: string, i: number, restart = 0) => {
      const kv = (kvs[id] = new KvStateMachine());
      const n = new RaftNode({
        id,
        peers,
        storage: durable.includes(id) ? await openRaftStorage(join(root, `${seed}-${id}`)) : createMemoryRaftStorage(),
        transport: new GrpcTransport({ snapshotChunkBytes: 512 }, () => undefined),
        stateMachine: kv,
        tickMs: 20,
        random: new SeededRandom(seed + i * 101 + restart),
        logger: SILENT,
        ...extra,
      });
      await n.start();
      nodes.push(n);
      return n;
    };
    const started = await Promise.all(ids.map((id, i) => make(id, i)));
    const leader = await waitUntil(
      'a leader',
      () => started.find((n) => n.isLeader && started.every((m) => m.leaderId === n.id)),
      10_000,
    );
    return { ids, peers, kvs, started, leader, make };
  }

  it('replicates over gRPC and keeps counting', async () => {
    const g = await group(testSeed('grpc-basic'));
    await Promise.all(Array.from({ length: 100 }, (_, i) => g.leader.propose(put(`r${i}`, `k${i}`, `v${i}`))));
    await waitUntil('all replicas applied', () => Object.values(g.kvs).every((kv) => kv.get('k99') === 'v99'));
    const st = g.leader.status();
    expect(st.transport.batchesSent).toBeGreaterThan(0);
    expect(st.transport.messagesSent).toBeGreaterThanOrEqual(st.transport.batchesSent);
    expect(st.transport.messagesReceived).toBeGreaterThan(0);
  });

  it('ignores and counts batches from unknown nodes, to another node id, and stale terms', async () => {
    const g = await group(testSeed('grpc-ignore'));
    const term = g.leader.status().term;
    const client = new RaftTransportClient(g.peers[g.leader.id], grpc.credentials.createInsecure());
    const stream = client.send(() => undefined);
    stream.on('error', () => undefined);
    const hb = (from: string, t: number) => ({
      type: RaftMessageType.RAFT_MSG_HEARTBEAT,
      from,
      to: g.leader.id,
      term: t,
      logTerm: 0,
      index: 0,
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
      snapshotMeta: undefined,
      context: Buffer.alloc(0),
    });
    const follower = g.ids.find((id) => id !== g.leader.id) as string;
    stream.write({ from: 'intruder', to: g.leader.id, messages: [hb('intruder', term + 5)] });
    stream.write({ from: follower, to: 'someone-else', messages: [hb(follower, term + 5)] });
    stream.write({
      from: follower,
      to: g.leader.id,
      messages: [{ ...hb(follower, term - 1 || 0), type: RaftMessageType.RAFT_MSG_APP_RESP }],
    });
    await waitUntil('counted', () => {
      const s = g.leader.status();
      return (
        s.transport.droppedUnknownPeer >= 1 &&
        s.transport.droppedWrongTarget >= 1 &&
        (term < 2 || s.raft.droppedStaleTerm >= 1)
      );
    });
    stream.end();
    client.close();
    expect(g.leader.status().term).toBe(term);
    expect(g.leader.isLeader).toBe(true);
  });

  it('sends a snapshot in chunks to a follower that restarts far behind', async () => {
    const seed = testSeed('grpc-snapshot');
    const g = await group(seed, { snapshotEntries: 40, compactionKeepEntries: 2 }, ['n1', 'n2', 'n3']);
    const lagging = g.started.find((n) => n !== g.leader) as RaftNode;
    const idx = g.ids.indexOf(lagging.id);
    await lagging.stop();
    for (let i = 0; i < 200; i += 25) {
      await Promise.all(
        Array.from({ length: 25 }, (_, j) => g.leader.propose(put(`r${i + j}`, `k${i + j}`, 'x'.repeat(100)))),
      );
    }
    await waitUntil('the leader compacted', () => g.leader.status().firstIndex > 100);
    const back = await g.make(lagging.id, idx, 1);
    await waitUntil('the follower caught up', () => g.kvs[lagging.id].get('k199') === 'x'.repeat(100), 10_000).catch(
      (e) => {
        console.log(
          JSON.stringify(g.leader.status().transport),
          JSON.stringify(g.leader.status().progress),
          JSON.stringify(back.status()),
        );
        throw e;
      },
    );
    expect(back.status().transport.snapshotsReceived).toBeGreaterThanOrEqual(1);
    expect(g.leader.status().transport.snapshotsSent).toBeGreaterThanOrEqual(1);
    expect(back.status().shell.snapshotsInstalled).toBeGreaterThanOrEqual(1);
  });
});
