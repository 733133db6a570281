import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, waitFor } from '@sofareg/testing';
import { parseMetaPeers } from '@sofareg/meta-core';
import { MetaStoreError, RaftMetaStore } from './meta-store';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('RaftMetaStore', () => {
  const dirs: string[] = [];
  const stores: RaftMetaStore[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-store-'));
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.stop()));
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('a one-node group commits alone, and its state survives a restart', async () => {
    const [raft, grpc, http] = [await freePort(), await freePort(), await freePort()];
    const peers = parseMetaPeers(`solo=127.0.0.1:${raft}/${grpc}/${http}`);
    const dir = tmp();
    const a = new RaftMetaStore({ nodeId: 'solo', peers, dataDir: dir, tickMs: 10, logger: quiet });
    stores.push(a);
    const leaders: (string | undefined)[] = [];
    a.on('leader', (l) => leaders.push(l));
    await a.start();
    await waitFor(
      'the leader event naming this node',
      () => a.isLeader() && leaders.includes(`127.0.0.1:${grpc}`),
      5_000,
    );
    expect(a.leaderHttpAddress()).toBe(`127.0.0.1:${http}`);
    await a.propose({ type: 'putProvideData', key: 'k', value: 'v1' });
    await a.propose({ type: 'putProvideData', key: 'k', value: 'v2' });
    expect(a.state.provideData.k).toEqual({ key: 'k', value: 'v2', version: 2 });
    await a.stop();
    stores.pop();
    const b = new RaftMetaStore({ nodeId: 'solo', peers, dataDir: dir, tickMs: 10, logger: quiet });
    stores.push(b);
    await b.start();
    await waitFor('the log replayed and leadership', () => b.state.provideData.k?.version === 2 && b.isLeader(), 5_000);
    await expect(b.transferLeadership()).rejects.toMatchObject({ code: 'Unavailable' });
  });

  it('a three-node group: followers refuse writes naming the leader, and a new leader takes over when it stops', async () => {
    const ids = ['m1', 'm2', 'm3'];
    const ports = await Promise.all(ids.flatMap(() => [freePort(), freePort(), freePort()]));
    const peers = parseMetaPeers(
      ids.map((id, i) => `${id}=127.0.0.1:${ports[3 * i]}/${ports[3 * i + 1]}/${ports[3 * i + 2]}`).join(','),
    );
    const group = ids.map((id) => new RaftMetaStore({ nodeId: id, peers, dataDir: tmp(), tickMs: 10, logger: quiet }));
    stores.push(...group);
    await Promise.all(group.map((s) => s.start()));
    const leader = await waitFor('a leader', () => group.find((s) => s.isLeader()), 5_000);
    await waitFor('everyone to know it', () => group.every((s) => s.leaderId() === leader.nodeId), 5_000);
    await leader.propose({ type: 'putProvideData', key: 'k', value: 'v' });
    const follower = group.find((s) => s !== leader) as RaftMetaStore;
    const err = await follower.propose({ type: 'putProvideData', key: 'k', value: 'w' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MetaStoreError);
    expect(err).toMatchObject({
      code: 'NotLeader',
      leader: peers[leader.nodeId].grpc,
      leaderHttp: peers[leader.nodeId].http,
    });
    await waitFor('the write on every node', () => group.every((s) => s.state.provideData.k?.value === 'v'), 5_000);

    const to = await leader.transferLeadership();
    await waitFor('the transfer', () => group.find((s) => s.nodeId === to)?.isLeader(), 5_000);
    const next = group.find((s) => s.nodeId === to) as RaftMetaStore;
    await next.stop();
    const rest = group.filter((s) => s !== next);
    const third = await waitFor('a new leader', () => rest.find((s) => s.isLeader()), 5_000);
    await third.propose({ type: 'putProvideData', key: 'k', value: 'after' });
    await third.barrier();
    expect(third.state.provideData.k.value).toBe('after');
  });
});
