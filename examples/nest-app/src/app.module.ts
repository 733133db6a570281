import { DynamicModule, Module } from '@nestjs/common';
import { consoleJsonLogger } from '@sofareg/client';
import { RegistryClientModule } from '@sofareg/client/nest';
import type { ExampleConfig } from './example-config';
import { EXAMPLE_CONFIG } from './example.tokens';
import { PeerDirectory } from './peer-directory.service';
import { PeersController } from './peers.controller';

/** Holds the validated configuration for injection. */
@Module({})
class ExampleConfigModule {
  static register(config: ExampleConfig): DynamicModule {
    return {
      module: ExampleConfigModule,
      providers: [{ provide: EXAMPLE_CONFIG, useValue: config }],
      exports: [EXAMPLE_CONFIG],
    };
  }
}

/** The example application: a registry client configured from {@link ExampleConfig}, a directory, an endpoint. */
@Module({})
export class AppModule {
  static register(config: ExampleConfig): DynamicModule {
    const configModule = ExampleConfigModule.register(config);
    return {
      module: AppModule,
      imports: [
        configModule,
        RegistryClientModule.forRootAsync({
          imports: [configModule],
          inject: [EXAMPLE_CONFIG],
          useFactory: (c: ExampleConfig) => ({
            sessionServers: c.sessionServers.length > 0 ? c.sessionServers : undefined,
            registryEndpoint: c.registryEndpoint,
            appName: c.appName,
            zone: c.zone,
            logger: consoleJsonLogger({ level: c.logLevel, name: `sofareg-client:${c.appName}` }),
          }),
        }),
      ],
      controllers: [PeersController],
      providers: [PeerDirectory],
    };
  }
}
