import 'reflect-metadata';
import { launchRole } from '@sofareg/server-kit';
import { parseSessionConfig } from './session-config';
import { SessionModule } from './session.module';
import { createSessionTransports } from './session-transports';

void launchRole(
  'session',
  () => parseSessionConfig(),
  (config, logger, [clients, sync]) => SessionModule.forRoot(config, logger, { clients, sync }),
  (config, logger) => {
    const { clients, sync } = createSessionTransports(config, logger);
    return [clients, sync];
  },
);
