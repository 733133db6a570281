import { Inject } from '@nestjs/common';
import { HASH_RING } from './hash-ring.tokens';

/** Parameter decorator injecting the module's {@link HashRing}: `@InjectHashRing() ring: HashRing`. */
export const InjectHashRing = (): ParameterDecorator & PropertyDecorator => Inject(HASH_RING);
