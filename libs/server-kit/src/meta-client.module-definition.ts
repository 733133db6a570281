import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { MetaClientOptions } from './meta-client';

/**
 * The dynamic-module plumbing of {@link MetaClientModule}: `forRoot(options)` and
 * `forRootAsync({ imports, inject, useFactory })`, plus the extra `isGlobal` (default false).
 */
export const {
  ConfigurableModuleClass: MetaClientConfigurableModule,
  MODULE_OPTIONS_TOKEN: META_CLIENT_OPTIONS,
  OPTIONS_TYPE: META_CLIENT_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: META_CLIENT_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<MetaClientOptions>({ moduleName: 'MetaClient' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
