import { DynamicModule, Module } from '@nestjs/common';
import { AdminController, CONFIG, LOGGER, METRICS, Logger, Metrics, READINESS } from '@sofareg/server-kit';
import { TokenBucket } from '@sofareg/session-core';
import { ClientConnections } from './client-connections';
import { ClientStreamService } from './client-stream.service';
import { GrpcSessionPort } from './grpc-session-port';
import { META_CLIENT_PROVIDER } from './meta-client.provider';
import { ProvideDataService } from './provide-data.service';
import { RegistrationService } from './registration.service';
import { SessionAdminController } from './session-admin.controller';
import { SessionConfig } from './session-config';
import { SessionIdentity } from './session-identity';
import { SessionMetrics } from './session-metrics';
import { SESSION_NODE_PROVIDER } from './session-node.provider';
import { ADMISSION } from './session.tokens';
import { SessionService } from './session.service';
import { SwitchBoard } from './switch-board';
import { SessionSyncServer } from './sync/session-sync.server';

/**
 * Wires one session server: identity, the meta client, the session node over its gRPC port, client streams,
 * registrations, provide-data and switches, the sync server, and the HTTP admin.
 */
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
        {
          provide: ADMISSION,
          useFactory: () => new TokenBucket(config.maxConnectsPerSecond, config.maxConnectsPerSecond),
        },
        SessionIdentity,
        SessionMetrics,
        META_CLIENT_PROVIDER,
        SwitchBoard,
        ClientConnections,
        GrpcSessionPort,
        SESSION_NODE_PROVIDER,
        RegistrationService,
        ProvideDataService,
        ClientStreamService,
        SessionSyncServer,
        SessionService,
        { provide: READINESS, useExisting: SessionService },
      ],
    };
  }
}
