import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { RegistryClient } from '../registry-client';
import { createRegistryClient } from './create-registry-client';
import {
  REGISTRY_CLIENT_OPTIONS,
  RegistryClientConfigurableModule,
  RegistryClientModuleOptions,
} from './registry-client.module-definition';
import { REGISTRY_CLIENT } from './registry-client.tokens';

/**
 * Makes a {@link RegistryClient} injectable (token {@link REGISTRY_CLIENT}, or `@InjectRegistryClient()`):
 * `RegistryClientModule.forRoot({ sessionServers, appName })` or
 * `RegistryClientModule.forRootAsync({ imports, inject, useFactory })`. The client starts connecting when
 * the module is created and is closed when the application shuts down (so the session drops this
 * application's publishers at once). Only wiring here; the client holds the logic.
 */
@Module({
  providers: [{ provide: REGISTRY_CLIENT, useFactory: createRegistryClient, inject: [REGISTRY_CLIENT_OPTIONS] }],
  exports: [REGISTRY_CLIENT],
})
export class RegistryClientModule extends RegistryClientConfigurableModule implements OnApplicationShutdown {
  constructor(@Inject(REGISTRY_CLIENT) private readonly client: RegistryClient) {
    super();
  }

  /** Closes the client; Nest calls this on `app.close()` (and on signals with `enableShutdownHooks()`). */
  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}

export type { RegistryClientModuleOptions };
