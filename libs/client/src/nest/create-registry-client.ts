import { RegistryClient } from '../registry-client';
import type { RegistryClientModuleOptions } from './registry-client.module-definition';

/**
 * Builds the client from module options (the `isGlobal` extra is not a client option). Options are validated
 * by the client's constructor, so a bad configuration fails the application's boot with a `RegistryError`
 * naming the field.
 */
export function createRegistryClient(options: RegistryClientModuleOptions & { isGlobal?: boolean }): RegistryClient {
  const { isGlobal: _isGlobal, ...clientOptions } = options;
  return new RegistryClient(clientOptions);
}
