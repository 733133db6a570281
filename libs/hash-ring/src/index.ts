export { HashRingModule } from './hash-ring.module';
export { HASH_RING_ASYNC_OPTIONS_TYPE, HASH_RING_OPTIONS_TYPE } from './hash-ring.module-definition';
export { DEFAULT_REPLICAS, resolveHashRingOptions } from './hash-ring-options';
export type { HashRingModuleOptions, HashRingSettings } from './hash-ring-options';
export { HashRing } from './hash-ring.service';
export { HASH_RING, HASH_RING_OPTIONS } from './hash-ring.tokens';
export { InjectHashRing } from './inject-hash-ring.decorator';
export * from './slot-lookup';
