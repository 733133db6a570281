import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { RegistryClientOptions } from '../options';

/** Options of `RegistryClientModule.forRoot` / `forRootAsync`: the client's options. */
export type RegistryClientModuleOptions = RegistryClientOptions;

/**
 * The dynamic-module plumbing: `forRoot(options)` and `forRootAsync({ useFactory, inject, imports })`, plus
 * the extra `isGlobal` (default false) to make the client injectable everywhere.
 */
export const {
  ConfigurableModuleClass: RegistryClientConfigurableModule,
  MODULE_OPTIONS_TOKEN: REGISTRY_CLIENT_OPTIONS,
  OPTIONS_TYPE: REGISTRY_CLIENT_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: REGISTRY_CLIENT_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RegistryClientModuleOptions>({ moduleName: 'RegistryClient' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
