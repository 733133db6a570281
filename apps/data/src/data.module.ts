import { DynamicModule, Module } from '@nestjs/common';
import { AdminController, CONFIG, LOGGER, METRICS, Logger, Metrics, READINESS } from '@sofareg/server-kit';
import { DataAdminController } from './data-admin.controller';
import { DataConfig } from './data-config';
import { dataNodeProviders } from './data-node.providers';
import { DataService } from './data.service';
import { ReplicationModule } from './replication/replication.module';

/**
 * Wires one data server: the core and its driver with their port (sessions' sync service, and peers through
 * the {@link ReplicationModule}), the meta client, the gRPC service and the HTTP admin.
 */
@Module({})
export class DataModule {
  static forRoot(config: DataConfig, logger: Logger): DynamicModule {
    return {
      module: DataModule,
      imports: [ReplicationModule.forRoot({ replicateTimeoutMs: 5_000, snapshotTimeoutMs: 30_000 })],
      controllers: [AdminController, DataAdminController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: METRICS, useValue: new Metrics('data') },
        ...dataNodeProviders,
        DataService,
        { provide: READINESS, useExisting: DataService },
      ],
    };
  }
}
