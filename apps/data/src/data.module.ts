import { DynamicModule, Module } from '@nestjs/common';
import { HashRingModule } from '@sofareg/hash-ring';
import {
  AdminController,
  CONFIG,
  GrpcJsTransport,
  LOGGER,
  METRICS,
  Logger,
  MetaClientModule,
  Metrics,
  READINESS,
} from '@sofareg/server-kit';
import { DataAdminController } from './data-admin.controller';
import { DataConfig } from './data-config';
import { DataNodeService } from './data-node.service';
import { dataNodeProviders, metaClientOptions } from './data-node.providers';
import { DataController } from './data.controller';
import { DATA_TRANSPORT } from './data.tokens';
import { ReplicationModule } from './replication/replication.module';

/**
 * Wires one data server: the `DataService` RPCs in {@link DataController} (served by the gRPC transport), the
 * core and its driver with their port (sessions' sync service, and peers through the {@link ReplicationModule}),
 * the slot table as a {@link HashRingModule}, the meta client, and the HTTP admin.
 */
@Module({})
export class DataModule {
  static forRoot(config: DataConfig, logger: Logger, transport: GrpcJsTransport): DynamicModule {
    return {
      module: DataModule,
      imports: [
        HashRingModule.forRoot({ slots: config.slots, replicas: config.replicas }),
        ReplicationModule.forRoot({ replicateTimeoutMs: 5_000, snapshotTimeoutMs: 30_000 }),
        MetaClientModule.forRoot(metaClientOptions(config, logger)),
      ],
      controllers: [AdminController, DataAdminController, DataController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: METRICS, useValue: new Metrics('data') },
        { provide: DATA_TRANSPORT, useValue: transport },
        ...dataNodeProviders,
        DataNodeService,
        { provide: READINESS, useExisting: DataNodeService },
      ],
    };
  }
}
