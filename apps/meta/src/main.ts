import 'reflect-metadata';
import { MetaServiceService } from '@sofareg/contracts';
import { GrpcJsTransport, launchRole } from '@sofareg/server-kit';
import { parseMetaConfig } from './meta-config';
import { MetaModule } from './meta.module';

void launchRole(
  'meta',
  () => parseMetaConfig(),
  (config, logger, transports) => MetaModule.forRoot(config, logger, transports),
  (config, logger) => [
    new GrpcJsTransport({ host: config.host, port: config.port, services: [MetaServiceService], logger }),
  ],
);
