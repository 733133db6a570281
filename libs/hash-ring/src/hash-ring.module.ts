import { Module } from '@nestjs/common';
import { HashRingConfigurableModule } from './hash-ring.module-definition';
import { HashRing } from './hash-ring.service';
import { HASH_RING } from './hash-ring.tokens';

/**
 * Makes one {@link HashRing} injectable (by its class, by {@link HASH_RING}, or with `@InjectHashRing()`):
 * `HashRingModule.forRoot({ slots, replicas })`, or `forRootAsync({ imports, inject, useFactory })` to take them
 * from the role's configuration. Options are validated when the module is created, so a bad value fails the boot.
 */
@Module({
  providers: [HashRing, { provide: HASH_RING, useExisting: HashRing }],
  exports: [HashRing, HASH_RING],
})
export class HashRingModule extends HashRingConfigurableModule {}
