import { PROVIDE_DATA_KEYS } from '@sofareg/model';
import { LocalCluster, MetaClusterNode, waitFor } from '@sofareg/testing';

/**
 * Meta's HTTP admin on a 3-node meta cluster (real processes): every node answers health and leader queries;
 * writes sent to a follower are redirected (307) to the leader and answer once committed there; invalid
 * bodies get 400 naming the field; a leader hands leadership over on `PUT /meta/leader/quit/election`
 * without evicting anyone.
 */
describe('meta admin on a 3-node meta cluster', () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await LocalCluster.start({
      metaNodes: 3,
      dataServers: 1,
      sessions: 1,
      metaArgs: ['--replicas', '1'],
      dataArgs: ['--replicas', '1'],
    });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const url = (m: MetaClusterNode, p: string) => `http://127.0.0.1:${m.httpPort}${p}`;
  const post = (m: MetaClusterNode, p: string, body: unknown, redirect: 'follow' | 'manual' = 'follow') =>
    fetch(url(m, p), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      redirect,
    });
  const followers = async () => {
    const leader = await cluster.metaLeader();
    return { leader, followers: cluster.metas.filter((m) => m !== leader) };
  };

  it('every node is healthy and names the same leader, with its client and HTTP addresses', async () => {
    const { leader } = await followers();
    for (const m of cluster.metas) {
      expect((await fetch(url(m, '/health/check'))).status).toBe(200);
      const q = await m.process.http<Record<string, unknown>>('/meta/leader/query');
      expect(q).toMatchObject({
        success: true,
        leaderId: leader.nodeId,
        leader: leader.address,
        leaderHttp: `127.0.0.1:${leader.httpPort}`,
        isLeader: m === leader,
      });
      expect(q.voters).toEqual(['meta-1', 'meta-2', 'meta-3']);
    }
  });

  it('redirects a write on a follower to the leader (307), and the write is on every node once answered', async () => {
    const {
      leader,
      followers: [f],
    } = await followers();
    const manual = await post(f, '/persistentData/put', { dataInfoId: 'app.config', data: 'v1' }, 'manual');
    expect(manual.status).toBe(307);
    expect(manual.headers.get('location')).toBe(`http://127.0.0.1:${leader.httpPort}/persistentData/put`);
    expect(await manual.json()).toMatchObject({ success: false, code: 'NotLeader', leader: leader.address });

    const followed = await post(f, '/persistentData/put', { dataInfoId: 'app.config', data: 'v2' });
    expect(followed.status).toBe(200);
    expect(await leader.process.http('/persistentData/query?dataInfoId=app.config')).toMatchObject({ value: 'v2' });
    await waitFor('the write on every node', async () => {
      const all = await Promise.all(
        cluster.metas.map((m) =>
          m.process.http<{ value?: string } | null>('/persistentData/query?dataInfoId=app.config'),
        ),
      );
      return all.every((v) => v?.value === 'v2');
    });
    const removed = await post(f, '/persistentData/remove', { dataInfoId: 'app.config' });
    expect(removed.status).toBe(200);
    expect(await leader.process.http('/persistentData/query?dataInfoId=app.config')).toMatchObject({
      value: '',
      version: 2,
    });
  });

  it("sets gray-open, blacklists and the client-off list on SOFARegistry's paths, through a follower too", async () => {
    const {
      leader,
      followers: [f],
    } = await followers();
    const value = async (key: string) =>
      (await leader.process.http<{ value?: string } | null>(`/persistentData/query?dataInfoId=${key}`))?.value;
    expect((await post(f, '/stopPushDataSwitch/grayOpen', { ips: '10.1.0.2, 10.1.0.1' })).status).toBe(200);
    expect(await value(PROVIDE_DATA_KEYS.grayOpen)).toBe('10.1.0.1,10.1.0.2');
    expect(
      (
        await post(leader, '/blacklist/update', {
          FORBIDDEN_PUB: { IP_FULL: ['10.2.0.1'] },
          FORBIDDEN_SUB_BY_PREFIX: { IP_FULL: ['10.2.0.2', '10.2.0.3'] },
        })
      ).status,
    ).toBe(200);
    expect(await value(PROVIDE_DATA_KEYS.publishBlacklist)).toBe('10.2.0.1');
    expect(await value(PROVIDE_DATA_KEYS.subscribeBlacklist)).toBe('10.2.0.2,10.2.0.3');
    expect((await post(f, '/api/clientManager/clientOff', { ips: ['10.3.0.1', '10.3.0.2'] })).status).toBe(200);
    expect((await post(leader, '/api/clientManager/clientOff', { ips: ['10.3.0.3'] })).status).toBe(200);
    expect((await post(leader, '/api/clientManager/clientOpen', { ips: '10.3.0.1' })).status).toBe(200);
    expect(await value(PROVIDE_DATA_KEYS.clientOff)).toBe('10.3.0.2,10.3.0.3');
    const bad = await post(leader, '/api/clientManager/clientOff', { ips: ['10.3.0.9', 'not an ip'] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'InvalidArgument', field: 'ips[1]' });
    expect((await post(leader, '/api/clientManager/clientOpen', {})).status).toBe(400);
    // Leave the switches as they were for the other tests.
    await post(leader, '/stopPushDataSwitch/grayOpen', { ips: [] });
    await post(leader, '/blacklist/update', {});
    await post(leader, '/api/clientManager/clientOpen', { ips: ['10.3.0.2', '10.3.0.3'] });
  });

  it('answers 400 naming the field for invalid bodies, on the leader and on followers', async () => {
    const {
      leader,
      followers: [f],
    } = await followers();
    for (const m of [leader, f]) {
      const noKey = await post(m, '/persistentData/put', { data: 'x' }, 'manual');
      expect(noKey.status).toBe(400);
      expect(await noKey.json()).toMatchObject({ code: 'InvalidArgument', field: 'dataInfoId' });
      const noData = await post(m, '/persistentData/put', { dataInfoId: 'k', data: 7 }, 'manual');
      expect(noData.status).toBe(400);
      expect(await noData.json()).toMatchObject({ field: 'data' });
    }
    const badTo = await fetch(url(leader, '/meta/leader/quit/election?to=nobody'), { method: 'PUT' });
    expect(badTo.status).toBe(400);
    expect(await badTo.json()).toMatchObject({ field: 'to' });
  });

  it('stop-push through a follower reaches the session, and lists and slot table are served by every node', async () => {
    const {
      followers: [f],
    } = await followers();
    expect((await fetch(url(f, '/stopPushDataSwitch/open'))).status).toBe(200);
    await waitFor(
      'the session to stop pushes',
      async () => (await cluster.sessions[0].process.http<{ stopPush: boolean }>('/api/switches/query')).stopPush,
    );
    expect((await fetch(url(f, '/stopPushDataSwitch/close'))).status).toBe(200);
    await waitFor(
      'the session to push again',
      async () => !(await cluster.sessions[0].process.http<{ stopPush: boolean }>('/api/switches/query')).stopPush,
    );
    const key = PROVIDE_DATA_KEYS.stopPush;
    for (const m of cluster.metas) {
      await waitFor(
        `${m.nodeId} to hold the switch`,
        async () =>
          (await m.process.http<{ value: string }>(`/persistentData/query?dataInfoId=${key}`))?.value === 'false',
      );
      await waitFor(`${m.nodeId} to list the data server and the session`, async () => {
        const data = (await m.process.http<{ address: string }[]>('/digest/data/node/query')).map((n) => n.address);
        const sessions = (await m.process.http<{ address: string }[]>('/digest/session/node/query')).map(
          (n) => n.address,
        );
        return data.join() === cluster.data[0].address && sessions.join() === cluster.sessions[0].address;
      });
      expect((await m.process.http<{ epoch: number }>('/openapi/v1/slot/table/content')).epoch).toBeGreaterThan(0);
    }
  });

  it('hands leadership over on quit/election without evicting anyone or moving slots', async () => {
    const {
      leader,
      followers: [f],
    } = await followers();
    const epoch = (await leader.process.http<{ epoch: number }>('/openapi/v1/slot/table/content')).epoch;
    const onFollower = await fetch(url(f, '/meta/leader/quit/election'), { method: 'PUT' });
    expect(await onFollower.json()).toMatchObject({ success: true, isLeader: false });
    const started = Date.now();
    const res = await fetch(url(leader, '/meta/leader/quit/election'), { method: 'PUT' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { leaderId: string };
    const next = await cluster.metaLeader();
    console.log(`leader transfer ${leader.nodeId} -> ${next.nodeId} in ${Date.now() - started} ms`);
    expect(next.nodeId).toBe(body.leaderId);
    expect(next).not.toBe(leader);
    // Servers find the new leader and keep their registrations and slots.
    await new Promise((r) => setTimeout(r, 3_500));
    expect((await next.process.http<unknown[]>('/digest/data/node/query')).length).toBe(1);
    expect((await next.process.http<unknown[]>('/digest/session/node/query')).length).toBe(1);
    expect((await next.process.http<{ epoch: number }>('/openapi/v1/slot/table/content')).epoch).toBe(epoch);
  }, 30_000);
});
