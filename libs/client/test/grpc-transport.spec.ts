import * as net from 'node:net';
import { Server, ServerCredentials, ServerDuplexStream } from '@grpc/grpc-js';
import { ClientMessage, ServerMessage, SessionServiceService } from '@sofareg/contracts';
import { RegistryClient } from '../src/registry-client';
import { RegistryClientOptions } from '../src/options';
import { GrpcTransport, grpcChannelOptions } from '../src/grpc-transport';
import { StatusEvent } from '../src/status';
import { FakeSession } from '../src/testing/fake-session';
import { waitFor } from '../src/testing/wait-for';

jest.setTimeout(30_000);

/**
 * A small session server on a free loopback port: grpc-js serving `SessionService/Connect`, each stream
 * bridged to an in-memory FakeSession (which answers hello, results, pushes and heartbeats).
 */
class TinySessionServer {
  readonly calls = new Set<ServerDuplexStream<ClientMessage, ServerMessage>>();
  readonly received: ClientMessage[] = [];
  private server: Server | undefined;
  port = 0;

  constructor(readonly session = new FakeSession()) {}

  async start(port = 0): Promise<void> {
    const server = new Server();
    server.addService(SessionServiceService, {
      connect: (call: ServerDuplexStream<ClientMessage, ServerMessage>) => {
        this.calls.add(call);
        const conn = this.session.connect(
          (m) => call.write(m),
          () => call.end(),
        );
        call.on('data', (m: ClientMessage) => {
          this.received.push(m);
          conn.fromClient(m);
        });
        const gone = () => {
          this.calls.delete(call);
          conn.clientClose();
        };
        call.on('end', () => {
          gone();
          call.end();
        });
        call.on('cancelled', gone);
        call.on('error', gone);
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.server = server;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Ends every open stream cleanly from the server side (the process stays up). */
  endStreams(): void {
    for (const call of this.calls) call.end();
    this.calls.clear();
  }

  /** Kills the server: every connection is cut. */
  kill(): void {
    this.server?.forceShutdown();
    this.server = undefined;
    this.calls.clear();
    this.session.dropAll();
  }

  received_(c: NonNullable<ClientMessage['body']>['$case']): ClientMessage[] {
    return this.received.filter((m) => m.body?.$case === c);
  }
}

/** A TCP proxy that can freeze its current connections (a half-open link: nothing flows, nothing closes). */
class FreezingProxy {
  private readonly server: net.Server;
  private readonly pairs: { frozen: boolean; a: net.Socket; b: net.Socket }[] = [];
  port = 0;

  constructor(private readonly target: () => number) {
    this.server = net.createServer((a) => {
      const b = net.connect(this.target(), '127.0.0.1');
      const pair = { frozen: false, a, b };
      this.pairs.push(pair);
      a.on('data', (d) => void (pair.frozen || b.write(d)));
      b.on('data', (d) => void (pair.frozen || a.write(d)));
      const close = () => {
        a.destroy();
        b.destroy();
      };
      a.on('error', close).on('close', close);
      b.on('error', close).on('close', close);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  freezeAll(): void {
    for (const p of this.pairs) p.frozen = true;
  }

  async stop(): Promise<void> {
    for (const p of this.pairs) {
      p.a.destroy();
      p.b.destroy();
    }
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('RegistryClient over real gRPC', () => {
  const clients: RegistryClient[] = [];
  const servers: TinySessionServer[] = [];
  const proxies: FreezingProxy[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const s of servers.splice(0)) s.kill();
    await Promise.all(proxies.splice(0).map((p) => p.stop()));
  });

  async function server(port = 0): Promise<TinySessionServer> {
    const s = new TinySessionServer();
    servers.push(s);
    await s.start(port);
    return s;
  }

  function client(options: RegistryClientOptions): { client: RegistryClient; events: StatusEvent[] } {
    const c = new RegistryClient({ appName: 'grpc-spec', reconnectDelay: () => 50, ...options });
    clients.push(c);
    const events: StatusEvent[] = [];
    void (async () => {
      for await (const e of c.status()) events.push(e);
    })();
    return { client: c, events };
  }

  it('connects, says hello, publishes, subscribes, receives a push and acks it, heartbeats', async () => {
    const s = await server();
    const { client: c } = client({ sessionServers: [s.address], heartbeatIntervalMs: 50, zone: 'Z1' });
    await c.ready({ timeoutMs: 5_000 });
    expect(s.received[0].body).toMatchObject({
      $case: 'hello',
      value: { clientId: c.clientId, zone: 'Z1', appName: 'grpc-spec' },
    });
    expect(c.session).toMatchObject({ server: s.address, connectId: expect.stringMatching(/^fake-conn-/) });

    const pub = c.publish({ dataId: 'com.acme.Orders' }, '10.0.0.1:12200');
    await pub.synced({ timeoutMs: 5_000 });
    const sub = c.subscribe({ dataId: 'com.acme.Orders', scope: 'dataCenter' }, () => undefined);
    await sub.synced({ timeoutMs: 5_000 });
    await waitFor(() => sub.peekData()?.zoneData.Z1?.length === 1, { message: 'push delivered' });
    expect(sub.peekData()?.zoneData).toEqual({ Z1: ['10.0.0.1:12200'] });
    await waitFor(() => s.session.acks.length >= 1, { message: 'push acked' });
    await waitFor(() => c.stats().lastHeartbeatRttMs !== undefined, { message: 'heartbeat answered' });
  });

  it('reconnects after the server ends the stream and replays its registrations first', async () => {
    const s = await server();
    const { client: c, events } = client({ sessionServers: [s.address] });
    const pub = c.publish({ dataId: 'svc' }, 'a:1');
    await pub.synced({ timeoutMs: 5_000 });
    pub.republish('a:2');
    await pub.synced({ timeoutMs: 5_000 });
    const helloCount = s.received_('hello').length;
    s.received.length = 0;

    s.endStreams();
    await waitFor(() => events.some((e) => e.type === 'connected' && e.reconnected), { message: 'reconnected' });
    await waitFor(() => s.received.length >= 2);
    expect(helloCount).toBe(1);
    expect(s.received.map((m) => m.body?.$case).slice(0, 2)).toEqual(['hello', 'publish']);
    expect(s.received[1].body).toMatchObject({ value: { registerId: pub.registerId, version: 2, dataList: ['a:2'] } });
    expect(events.map((e) => e.type)).toEqual([
      'connecting',
      'connected',
      'disconnected',
      'reconnecting',
      'connecting',
      'connected',
    ]);
  });

  it('comes back when a killed server restarts on the same port', async () => {
    const port = await freePort();
    const first = await server(port);
    const { client: c, events } = client({ sessionServers: [`127.0.0.1:${port}`] });
    const sub = c.subscribe({ dataId: 'svc', scope: 'global' }, () => undefined);
    await sub.synced({ timeoutMs: 5_000 });
    first.kill();
    await waitFor(() => events.some((e) => e.type === 'disconnected'), { message: 'disconnect seen' });
    await waitFor(() => events.filter((e) => e.type === 'reconnecting').length >= 2, { message: 'a failed redial' });
    const second = await server(port);
    await waitFor(() => c.phase === 'connected', { message: 'reconnected to the restarted server', timeoutMs: 10_000 });
    await waitFor(() => second.received_('subscribe').length === 1, { message: 'subscription replayed' });
    expect(second.received_('subscribe')[0].body).toMatchObject({ value: { registerId: sub.registerId } });
  });

  it('sets gRPC keepalive so that a half-open connection is detected and replaced', async () => {
    const transportOptions = { keepaliveTimeMs: 300, keepaliveTimeoutMs: 300 };
    expect(new GrpcTransport(transportOptions).channelOptions).toMatchObject({
      'grpc.keepalive_time_ms': 300,
      'grpc.keepalive_timeout_ms': 300,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.use_local_subchannel_pool': 1,
    });
    expect(grpcChannelOptions({ keepaliveTimeMs: 10_000, keepaliveTimeoutMs: 5_000 })['grpc.keepalive_time_ms']).toBe(
      10_000,
    );

    const s = await server();
    const proxy = new FreezingProxy(() => s.port);
    proxies.push(proxy);
    await proxy.start();
    // The application heartbeat is far away: only gRPC keepalive can notice the frozen link.
    const { client: c, events } = client({
      sessionServers: [`127.0.0.1:${proxy.port}`],
      ...transportOptions,
      heartbeatIntervalMs: 60_000,
    });
    const pub = c.publish({ dataId: 'svc' }, 'a:1');
    await pub.synced({ timeoutMs: 5_000 });
    const frozenAt = Date.now();
    proxy.freezeAll();
    await waitFor(() => events.some((e) => e.type === 'disconnected'), {
      message: 'keepalive noticed the dead link',
      timeoutMs: 10_000,
    });
    const detectedMs = Date.now() - frozenAt;
    console.log(`half-open link detected by keepalive in ${detectedMs} ms (keepalive 300 + 300 ms)`);
    await waitFor(() => events.some((e) => e.type === 'connected' && e.reconnected), {
      message: 'reconnected through the proxy',
    });
    await waitFor(() => s.received_('publish').length === 2, { message: 'publisher replayed' });
  });

  it('close() ends the stream, and the session drops the client at once', async () => {
    const s = await server();
    const { client: c } = client({ sessionServers: [s.address] });
    await c.publish({ dataId: 'svc' }, 'a:1').synced({ timeoutMs: 5_000 });
    expect(s.session.published('svc#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP')).toEqual({ DEFAULT_ZONE: ['a:1'] });
    await c.close();
    await waitFor(() => s.session.connectionCount === 0, { message: 'session saw the close' });
    expect(s.session.published('svc#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP')).toEqual({});
    expect(await c.closed()).toBeUndefined();
  });

  it('fails fast against a port with no server and keeps retrying with backoff', async () => {
    const port = await freePort();
    const { client: c, events } = client({ sessionServers: [`127.0.0.1:${port}`], reconnectDelay: () => 20 });
    await waitFor(() => events.filter((e) => e.type === 'reconnecting').length >= 3, { message: 'retries' });
    const failure = events.find((e) => e.type === 'reconnecting');
    expect(failure).toMatchObject({ error: { code: 'Unavailable' } });
    expect(c.phase).not.toBe('connected');
  });
});
