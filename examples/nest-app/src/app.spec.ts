import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { REGISTRY_CLIENT_OPTIONS } from '@sofareg/client/nest';
import { FakeSession, fakeSessionTransport, waitFor } from '@sofareg/client/testing';
import { AppModule } from './app.module';
import { ExampleConfig, loadExampleConfig } from './example-config';
import { PeerDirectory, PeersView } from './peer-directory.service';

/** Two instances of the example (Ping and Pong) on one in-memory session find each other over HTTP. */
describe('example nest app', () => {
  const apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function start(
    session: FakeSession,
    env: Record<string, string>,
  ): Promise<{ app: INestApplication; url: string }> {
    const config: ExampleConfig = loadExampleConfig({ LOG_LEVEL: 'error', ...env });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] })
      .overrideProvider(REGISTRY_CLIENT_OPTIONS)
      .useValue({
        sessionServers: [session.address],
        appName: config.appName,
        transport: fakeSessionTransport([session]),
      })
      .compile();
    const app = moduleRef.createNestApplication({ logger: false });
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    app.get(PeerDirectory).announce(new URL(url).host);
    return { app, url };
  }

  const peers = async (url: string): Promise<PeersView> => (await fetch(`${url}/peers`)).json() as Promise<PeersView>;

  it('publishes itself and sees its peer, and the peer disappears when it stops', async () => {
    const session = new FakeSession();
    const ping = await start(session, { SERVICE: 'com.example.Ping' });
    const pong = await start(session, { SERVICE: 'com.example.Pong' });
    const pingView = await waitFor(
      async () => {
        const v = await peers(ping.url);
        return v.peers.length === 1 && v.selfSynced ? v : undefined;
      },
      { message: 'ping sees pong' },
    );
    expect(pingView).toMatchObject({
      service: 'com.example.Ping',
      peerService: 'com.example.Pong',
      peers: [new URL(pong.url).host],
      connection: 'connected',
    });
    await waitFor(async () => (await peers(pong.url)).peers[0] === new URL(ping.url).host, {
      message: 'pong sees ping',
    });

    await pong.app.close();
    await waitFor(async () => (await peers(ping.url)).peers.length === 0, { message: 'pong gone from ping view' });
  });

  it('validates its configuration', () => {
    expect(() => loadExampleConfig({ PORT: 'x' })).toThrow(
      expect.objectContaining({ code: 'InvalidArgument', field: 'PORT' }),
    );
    expect(loadExampleConfig({})).toMatchObject({
      service: 'com.example.Ping',
      peerService: 'com.example.Pong',
      appName: 'ping',
      sessionServers: ['127.0.0.1:9600'],
    });
    expect(loadExampleConfig({ SOFAREG_REGISTRY_ENDPOINT: 'http://127.0.0.1:9603' }).sessionServers).toEqual([]);
  });
});
