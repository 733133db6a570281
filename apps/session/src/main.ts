import 'reflect-metadata';
import { launchRole } from '@sofareg/server-kit';
import { parseSessionConfig } from './session-config';
import { SessionModule } from './session.module';

void launchRole('session', () => parseSessionConfig(), (config, logger) => SessionModule.forRoot(config, logger));
