import 'reflect-metadata';
import { launchRole } from '@sofareg/server-kit';
import { parseDataConfig } from './data-config';
import { DataModule } from './data.module';

void launchRole('data', () => parseDataConfig(), (config, logger) => DataModule.forRoot(config, logger));
