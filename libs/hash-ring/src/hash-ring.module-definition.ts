import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { HashRingModuleOptions } from './hash-ring-options';
import { HASH_RING_OPTIONS } from './hash-ring.tokens';

/**
 * The dynamic-module plumbing: `forRoot(options)` and `forRootAsync({ imports, inject, useFactory })`, plus
 * the extra `isGlobal` (default false).
 */
export const {
  ConfigurableModuleClass: HashRingConfigurableModule,
  OPTIONS_TYPE: HASH_RING_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: HASH_RING_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<HashRingModuleOptions>({
  moduleName: 'HashRing',
  optionsInjectionToken: HASH_RING_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
