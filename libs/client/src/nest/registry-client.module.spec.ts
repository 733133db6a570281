import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { RegistryClient } from '../registry-client';
import { FakeSession, fakeSessionTransport } from '../testing/fake-session';
import { InjectRegistryClient } from './inject-registry-client.decorator';
import { RegistryClientModule } from './registry-client.module';
import { REGISTRY_CLIENT } from './registry-client.tokens';

@Injectable()
class Directory {
  constructor(@InjectRegistryClient() readonly client: RegistryClient) {}
}

const SETTINGS = Symbol('SETTINGS');

@Module({
  providers: [{ provide: SETTINGS, useValue: { servers: ['127.0.0.1:9600'], appName: 'from-config' } }],
  exports: [SETTINGS],
})
class SettingsModule {}

describe('RegistryClientModule', () => {
  it('forRoot provides a connected client under the Symbol token and closes it on shutdown', async () => {
    const session = new FakeSession();
    const moduleRef = await Test.createTestingModule({
      imports: [
        RegistryClientModule.forRoot({
          sessionServers: ['127.0.0.1:9600'],
          appName: 'nest',
          transport: fakeSessionTransport([session]),
        }),
      ],
      providers: [Directory],
    }).compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    const client = app.get<RegistryClient>(REGISTRY_CLIENT);
    expect(app.get(Directory).client).toBe(client);
    expect(typeof REGISTRY_CLIENT).toBe('symbol');
    await client.ready({ timeoutMs: 5_000 });
    await client.publish({ dataId: 'svc' }, 'a:1').synced();
    expect(session.connectionCount).toBe(1);
    await app.close();
    expect(client.phase).toBe('closed');
    expect(session.connectionCount).toBe(0);
  });

  it('forRootAsync builds the options from injected providers', async () => {
    const session = new FakeSession();
    const moduleRef = await Test.createTestingModule({
      imports: [
        RegistryClientModule.forRootAsync({
          imports: [SettingsModule],
          inject: [SETTINGS],
          useFactory: (s: { servers: string[]; appName: string }) => ({
            sessionServers: s.servers,
            appName: s.appName,
            transport: fakeSessionTransport([session]),
          }),
        }),
      ],
    }).compile();
    const client = moduleRef.get<RegistryClient>(REGISTRY_CLIENT);
    expect(client.options.appName).toBe('from-config');
    await client.ready({ timeoutMs: 5_000 });
    await moduleRef.close();
    expect(client.phase).toBe('closed');
  });

  it('fails the boot with a RegistryError naming the bad option', async () => {
    await expect(
      Test.createTestingModule({ imports: [RegistryClientModule.forRoot({ sessionServers: ['no-port'] })] }).compile(),
    ).rejects.toMatchObject({ code: 'InvalidArgument', field: 'sessionServers[0]' });
  });

  it('isGlobal makes the client injectable in modules that do not import it', async () => {
    @Module({ providers: [Directory], exports: [Directory] })
    class FeatureModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        RegistryClientModule.forRoot({
          sessionServers: ['127.0.0.1:9600'],
          transport: fakeSessionTransport([new FakeSession()]),
          isGlobal: true,
        }),
        FeatureModule,
      ],
    }).compile();
    expect(moduleRef.get(Directory).client).toBeInstanceOf(RegistryClient);
    await moduleRef.close();
  });
});
