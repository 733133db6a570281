/** NestJS integration of `@sofareg/client`; needs `@nestjs/common` and `@nestjs/core` (optional peers). */
export { RegistryClientModule } from './registry-client.module';
export type { RegistryClientModuleOptions } from './registry-client.module';
export {
  REGISTRY_CLIENT_ASYNC_OPTIONS_TYPE,
  REGISTRY_CLIENT_OPTIONS,
  REGISTRY_CLIENT_OPTIONS_TYPE,
} from './registry-client.module-definition';
export { REGISTRY_CLIENT } from './registry-client.tokens';
export { InjectRegistryClient } from './inject-registry-client.decorator';
export { createRegistryClient } from './create-registry-client';
