import 'reflect-metadata';
import { DataServiceService } from '@sofareg/contracts';
import { GrpcJsTransport, launchRole } from '@sofareg/server-kit';
import { parseDataConfig } from './data-config';
import { DataModule } from './data.module';

void launchRole(
  'data',
  () => parseDataConfig(),
  (config, logger, [transport]) => DataModule.forRoot(config, logger, transport),
  (config, logger) => [
    new GrpcJsTransport({ host: config.host, port: config.port, services: [DataServiceService], logger }),
  ],
);
