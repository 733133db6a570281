import { DynamicModule, Module } from '@nestjs/common';
import { AdminController, CONFIG, LOGGER, METRICS, Logger, Metrics, READINESS } from '@sofareg/server-kit';
import { DataAdminController } from './data-admin.controller';
import { DataConfig } from './data-config';
import { DataService } from './data.service';

/** Wires one data server: its store, gRPC service, meta registration and HTTP admin. */
@Module({})
export class DataModule {
  static forRoot(config: DataConfig, logger: Logger): DynamicModule {
    return {
      module: DataModule,
      controllers: [AdminController, DataAdminController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: METRICS, useValue: new Metrics('data') },
        DataService,
        { provide: READINESS, useExisting: DataService },
      ],
    };
  }
}
