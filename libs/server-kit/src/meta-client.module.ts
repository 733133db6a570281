import { Module } from '@nestjs/common';
import { MetaClient, type MetaClientOptions } from './meta-client';
import { META_CLIENT_OPTIONS, MetaClientConfigurableModule } from './meta-client.module-definition';
import { META_CLIENT } from './meta-client.tokens';

/**
 * Makes a {@link MetaClient} injectable under {@link META_CLIENT}:
 * `MetaClientModule.forRootAsync({ inject: [CONFIG, LOGGER], useFactory: (c, l) => ({ metaAddresses, node,
 * logger }) })`.
 * The client is created, not started: its owner calls `start()` once it knows what to register, and
 * `stop()` (which tells meta the server leaves) when it shuts down, before the rest of its teardown.
 */
@Module({
  providers: [
    { provide: META_CLIENT, inject: [META_CLIENT_OPTIONS], useFactory: (o: MetaClientOptions) => new MetaClient(o) },
  ],
  exports: [META_CLIENT],
})
export class MetaClientModule extends MetaClientConfigurableModule {}
