import { RegistryClient } from '@sofareg/client';
import { PROVIDE_DATA_KEYS } from '@sofareg/model';
import { ClusterNode, LocalCluster, waitFor } from '@sofareg/testing';
import { flatten, record, waitForAddresses } from '../test/harness';

interface Switches {
  stopPush: boolean;
  grayOpen: string[];
  clientOff: string[];
  publishBlacklist: string[];
  subscribeBlacklist: string[];
}

interface SubscriberView {
  registerId: string;
  pushedVersion: number;
  ackedVersion: number;
}

/**
 * Meta's switches as sessions apply them, end to end with real processes: stop-push, gray-open, client-off and
 * client-open, publish and subscribe blacklists, configurators, the session's own client-off, and discovery.
 * Clients on loopback report their IP in the hello (`clientIp`), which is the IP switches apply to.
 */
describe('session switches end to end', () => {
  let cluster: LocalCluster;
  const clients: RegistryClient[] = [];
  let n = 0;

  const client = (session: number, clientIp: string) => {
    const c = new RegistryClient({
      sessionServers: [cluster.sessionAddresses[session]],
      appName: 'switches',
      clientIp,
    });
    clients.push(c);
    return c;
  };
  const dataId = (name: string) => `com.acme.switch.${name}.${++n}`;
  const toDataInfoId = (id: string) => `${id}#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP`;

  const metaPost = async (path: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${cluster.meta.httpPort}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
  };
  const switchesOf = (s: ClusterNode) => s.process.http<Switches>('/api/switches/query');
  /** Sets a provide-data switch at meta and waits until every session applies it. */
  const setSwitch = async (key: string, value: string, applied: (s: Switches) => boolean) => {
    await metaPost('/persistentData/put', { dataInfoId: key, data: value });
    await waitFor(`every session to apply ${key}=${value}`, async () =>
      (await Promise.all(cluster.sessions.map(switchesOf))).every(applied),
    );
  };
  const metric = async (s: ClusterNode, name: string, label = ''): Promise<number> => {
    const text = await s.process.http<string>('/metrics');
    let sum = 0;
    for (const line of String(text).split('\n'))
      if (line.startsWith(`sofareg_${name}`) && line.includes(label)) sum += Number(line.split(' ').pop());
    return sum;
  };
  const subscriberView = async (s: ClusterNode, id: string, registerId: string) =>
    (
      await s.process.http<SubscriberView[]>(
        `/digest/sub/data/query?dataInfoId=${encodeURIComponent(toDataInfoId(id))}`,
      )
    ).find((x) => x.registerId === registerId);

  beforeAll(async () => {
    cluster = await LocalCluster.start({ dataServers: 1, sessions: 2 });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const key of Object.values(PROVIDE_DATA_KEYS)) await metaPost('/persistentData/remove', { dataInfoId: key });
    await waitFor('switches cleared', async () =>
      (await Promise.all(cluster.sessions.map(switchesOf))).every(
        (s) =>
          !s.stopPush &&
          s.grayOpen.length + s.clientOff.length + s.publishBlacklist.length + s.subscribeBlacklist.length === 0,
      ),
    );
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('stop-push holds every push (first pushes too) and pushes everything outstanding when it closes', async () => {
    const id = dataId('StopPush');
    const { rec } = record(client(0, '10.1.0.1'), id);
    await waitFor('first push', () => rec.pushes.length === 1);

    const opened = await fetch(`http://127.0.0.1:${cluster.meta.httpPort}/stopPushDataSwitch/open`);
    expect(opened.status).toBe(200);
    await waitFor('stop-push applied', async () =>
      (await Promise.all(cluster.sessions.map(switchesOf))).every((s) => s.stopPush),
    );

    const heldBefore = await metric(cluster.sessions[0], 'session_pushes_held_total');
    const late = record(client(0, '10.1.0.1'), id); // subscribes while stopped: not even its first push
    await client(1, '10.1.0.2').publish({ dataId: id }, '10.0.1.1:1').synced();
    await waitFor(
      'session 0 to hold the pushes',
      async () => (await metric(cluster.sessions[0], 'session_pushes_held_total')) >= heldBefore + 2,
    );
    expect(rec.pushes).toHaveLength(1);
    expect(late.rec.pushes).toHaveLength(0);

    await fetch(`http://127.0.0.1:${cluster.meta.httpPort}/stopPushDataSwitch/close`);
    await waitForAddresses(rec, ['10.0.1.1:1'], 'the held push after stop-push closed');
    await waitForAddresses(late.rec, ['10.0.1.1:1'], 'the first push of the subscriber that came while stopped');
    expect(rec.pushes).toHaveLength(2);
  });

  it('gray-open pushes only the listed client IPs while pushes are stopped', async () => {
    const id = dataId('GrayOpen');
    const normal = record(client(0, '10.1.0.11'), id);
    const gray = record(client(0, '10.1.0.12'), id);
    await waitFor('first pushes', () => normal.rec.pushes.length === 1 && gray.rec.pushes.length === 1);
    await setSwitch(PROVIDE_DATA_KEYS.stopPush, 'true', (s) => s.stopPush);
    await setSwitch(PROVIDE_DATA_KEYS.grayOpen, '10.1.0.12', (s) => s.grayOpen.includes('10.1.0.12'));

    await client(1, '10.1.0.13').publish({ dataId: id }, '10.0.2.1:1').synced();
    await waitForAddresses(gray.rec, ['10.0.2.1:1'], 'the gray-open client pushed');
    const g = await subscriberView(cluster.sessions[0], id, gray.sub.registerId);
    const o = await subscriberView(cluster.sessions[0], id, normal.sub.registerId);
    expect(g?.ackedVersion).toBeGreaterThan(o?.pushedVersion ?? Infinity); // the other was not even sent it
    expect(normal.rec.pushes).toHaveLength(1);

    await setSwitch(PROVIDE_DATA_KEYS.stopPush, 'false', (s) => !s.stopPush);
    await waitForAddresses(normal.rec, ['10.0.2.1:1'], 'everyone pushed once stop-push closed');
  });

  it("client-off removes an IP's publishers and ignores its publishes; client-open makes it re-register", async () => {
    const id = dataId('ClientOff');
    const { rec } = record(client(0, '10.1.0.21'), id);
    const off = client(1, '10.1.0.22');
    const pub = off.publish({ dataId: id }, '10.0.3.1:1');
    await client(1, '10.1.0.23').publish({ dataId: id }, '10.0.3.9:1').synced();
    await pub.synced();
    await waitForAddresses(rec, ['10.0.3.1:1', '10.0.3.9:1'], 'both publishers');

    await setSwitch(PROVIDE_DATA_KEYS.clientOff, '10.1.0.22', (s) => s.clientOff.includes('10.1.0.22'));
    await waitForAddresses(rec, ['10.0.3.9:1'], "the client-off IP's publisher removed");
    const connectedBefore = off.session?.connectId;

    const ignoredBefore = await metric(cluster.sessions[1], 'session_switch_actions_total', 'publishIgnored');
    pub.republish('10.0.3.1:2');
    await pub.synced(); // acknowledged, but not kept
    expect(await metric(cluster.sessions[1], 'session_switch_actions_total', 'publishIgnored')).toBe(ignoredBefore + 1);
    const held = await cluster.sessions[1].process.http<unknown[]>(
      `/digest/pub/data/query?dataInfoId=${encodeURIComponent(toDataInfoId(id))}`,
    );
    expect(held).toHaveLength(1);
    expect(off.session?.connectId).toBe(connectedBefore); // the connection stays

    await setSwitch(PROVIDE_DATA_KEYS.clientOff, '', (s) => s.clientOff.length === 0);
    await waitForAddresses(rec, ['10.0.3.1:2', '10.0.3.9:1'], 'the re-opened client re-registered its latest version');
    await waitFor(
      'the client reconnected',
      () => off.session !== undefined && off.session.connectId !== connectedBefore,
    );
  });

  it('refuses publishes and subscribes from blacklisted IPs with Blocked', async () => {
    const id = dataId('Blacklist');
    await setSwitch(PROVIDE_DATA_KEYS.publishBlacklist, '10.1.0.31', (s) => s.publishBlacklist.includes('10.1.0.31'));
    await setSwitch(PROVIDE_DATA_KEYS.subscribeBlacklist, '10.1.0.32', (s) =>
      s.subscribeBlacklist.includes('10.1.0.32'),
    );
    const refusedPub = client(0, '10.1.0.31').publish({ dataId: id }, '10.0.4.1:1');
    await expect(refusedPub.synced()).rejects.toMatchObject({ code: 'Blocked' });
    const refusedSub = client(0, '10.1.0.32').subscribe({ dataId: id, scope: 'dataCenter' }, () => undefined);
    await expect(refusedSub.synced()).rejects.toMatchObject({ code: 'Blocked' });

    // Others are served as usual, and the blacklisted subscriber's IP may still publish.
    const { rec } = record(client(1, '10.1.0.33'), id);
    await client(0, '10.1.0.32').publish({ dataId: id }, '10.0.4.2:1').synced();
    await waitForAddresses(rec, ['10.0.4.2:1'], 'only the allowed publisher');
  });

  it("pushes a watched provide-data key's value and every change to configurators", async () => {
    const key = `app.limits.${++n}`;
    const seen: [string | undefined, number][] = [];
    const cfg = client(0, '10.1.0.41').watchConfig({ key }, (_k, value, version) => void seen.push([value, version]));
    await cfg.synced();
    await waitFor('the absent value', () => seen.length === 1);
    expect(seen[0]).toEqual([undefined, 0]);
    await metaPost('/persistentData/put', { dataInfoId: key, data: 'max=10' });
    await waitFor('the first value', () => seen.at(-1)?.[0] === 'max=10');
    await metaPost('/persistentData/put', { dataInfoId: key, data: 'max=20' });
    await waitFor('the changed value', () => seen.at(-1)?.[0] === 'max=20');
    // A configurator that starts later gets the current value at once.
    const later: (string | undefined)[] = [];
    client(1, '10.1.0.42').watchConfig({ key }, (_k, value) => void later.push(value));
    await waitFor('the current value for a new configurator', () => later[0] === 'max=20');
    await metaPost('/persistentData/remove', { dataInfoId: key });
    await waitFor('the removal', () => seen.length === 4 && seen[3][0] === undefined);
    const versions = seen.map(([, v]) => v);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
  });

  it("removes the publishers of a connection through the session's own client-off (not kept)", async () => {
    const id = dataId('LocalOff');
    const { rec } = record(client(1, '10.1.0.51'), id);
    const c = client(0, '10.1.0.52');
    await c.publish({ dataId: id }, '10.0.5.1:1').synced();
    await waitForAddresses(rec, ['10.0.5.1:1'], 'the publisher');
    const res = await fetch(`http://127.0.0.1:${cluster.sessions[0].httpPort}/api/clients/off`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ips: ['10.1.0.52'] }),
    });
    expect(await res.json()).toMatchObject({ success: true, connectIds: [c.session?.connectId] });
    await waitForAddresses(rec, [], 'the publisher removed');
    expect(flatten(rec.last())).toEqual([]);
  });

  it("lists the zone's sessions for discovery, weighted by their real connection counts", async () => {
    client(0, '10.1.0.61');
    client(0, '10.1.0.62');
    client(1, '10.1.0.63');
    await Promise.all(clients.map((c) => c.ready()));
    const plain = String(await cluster.sessions[0].process.http('/api/servers/query'))
      .split('\n')
      .sort();
    expect(plain).toEqual([...cluster.sessionAddresses].sort());
    const counts = await Promise.all(
      cluster.sessions.map(
        async (s) => (await s.process.http<{ connections: number }>('/digest/data/count')).connections,
      ),
    );
    const weighted =
      await cluster.sessions[1].process.http<{ address: string; weight: number }[]>('/api/servers/queryWithWeight');
    expect(weighted.sort((a, b) => a.address.localeCompare(b.address))).toEqual(
      cluster.sessions
        .map((s, i) => ({ address: s.address, weight: counts[i], connections: counts[i] }))
        .sort((a, b) => a.address.localeCompare(b.address)),
    );
    expect(counts[0]).toBeGreaterThan(counts[1]);
  });
});
