import { Inject } from '@nestjs/common';
import { REGISTRY_CLIENT } from './registry-client.tokens';

/** Parameter decorator injecting the module's {@link RegistryClient}: `@InjectRegistryClient() client`. */
export const InjectRegistryClient = (): ParameterDecorator & PropertyDecorator => Inject(REGISTRY_CLIENT);
