import { DynamicModule, Module } from '@nestjs/common';
import { AdminController, CONFIG, LOGGER, METRICS, Logger, Metrics, READINESS } from '@sofareg/server-kit';
import { MetaAdminController } from './meta-admin.controller';
import { MetaConfig } from './meta-config';
import { LocalMetaStore } from './meta-store';
import { MetaService } from './meta.service';
import { META_STORE } from './meta.tokens';

/** Wires one meta node: its store, control plane, gRPC service and HTTP admin. */
@Module({})
export class MetaModule {
  static forRoot(config: MetaConfig, logger: Logger): DynamicModule {
    return {
      module: MetaModule,
      controllers: [AdminController, MetaAdminController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: METRICS, useValue: new Metrics('meta') },
        { provide: META_STORE, useFactory: () => new LocalMetaStore(config.dataDir, `${config.advertiseHost}:${config.port}`) },
        MetaService,
        { provide: READINESS, useExisting: MetaService },
      ],
    };
  }
}
