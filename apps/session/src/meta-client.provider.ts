import { Provider } from '@nestjs/common';
import { LOGGER, Logger, MetaClient } from '@sofareg/server-kit';
import { CONFIG } from '@sofareg/server-kit';
import { SessionConfig } from './session-config';
import { SessionIdentity } from './session-identity';

/**
 * The session's MetaClient, injected by its class. The one place it is built: swapping to a MetaClient module
 * replaces this provider.
 */
export const META_CLIENT_PROVIDER: Provider = {
  provide: MetaClient,
  inject: [CONFIG, LOGGER, SessionIdentity],
  useFactory: (config: SessionConfig, logger: Logger, identity: SessionIdentity) =>
    new MetaClient({ metaAddresses: config.meta, node: identity.node(), logger }),
};
