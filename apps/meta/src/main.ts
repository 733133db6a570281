import 'reflect-metadata';
import { launchRole } from '@sofareg/server-kit';
import { parseMetaConfig } from './meta-config';
import { MetaModule } from './meta.module';

void launchRole('meta', () => parseMetaConfig(), (config, logger) => MetaModule.forRoot(config, logger));
