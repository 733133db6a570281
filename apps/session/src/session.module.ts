import { DynamicModule, Module } from '@nestjs/common';
import { AdminController, CONFIG, LOGGER, METRICS, Logger, Metrics, READINESS } from '@sofareg/server-kit';
import { SessionAdminController } from './session-admin.controller';
import { SessionConfig } from './session-config';
import { SessionService } from './session.service';

/** Wires one session server: client streams, the data router, meta registration and HTTP admin. */
@Module({})
export class SessionModule {
  static forRoot(config: SessionConfig, logger: Logger): DynamicModule {
    return {
      module: SessionModule,
      controllers: [AdminController, SessionAdminController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: METRICS, useValue: new Metrics('session') },
        SessionService,
        { provide: READINESS, useExisting: SessionService },
      ],
    };
  }
}
