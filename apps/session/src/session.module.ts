import { DynamicModule, Module } from '@nestjs/common';
import { HashRingModule } from '@sofareg/hash-ring';
import {
  AdminController,
  CONFIG,
  LOGGER,
  METRICS,
  Logger,
  MetaClientModule,
  Metrics,
  READINESS,
} from '@sofareg/server-kit';
import { TokenBucket } from '@sofareg/session-core';
import { ClientConnections } from './client-connections';
import { ClientStreamService } from './client-stream.service';
import { GrpcSessionPort } from './grpc-session-port';
import { ProvideDataService } from './provide-data.service';
import { RegistrationService } from './registration.service';
import { SessionAdminController } from './session-admin.controller';
import { SessionConfig } from './session-config';
import { SessionController } from './session.controller';
import { SessionIdentity } from './session-identity';
import { SessionMetrics } from './session-metrics';
import { SESSION_NODE_PROVIDER } from './session-node.provider';
import { SessionReadiness } from './session-readiness';
import { SessionService } from './session.service';
import { SessionSyncController } from './session-sync.controller';
import { SessionTransports } from './session-transports';
import { ADMISSION, CLIENT_TRANSPORT } from './session.tokens';
import { SwitchBoard } from './switch-board';

/**
 * Wires one session server: identity, the meta client, the hash ring, the session node over its gRPC port,
 * client streams, registrations, provide-data and switches; the gRPC controllers (SessionService for clients,
 * SessionSyncService for data servers, each served by its own transport) and the HTTP admin.
 */
@Module({})
export class SessionModule {
  /**
   * @param transports the gRPC transports main.ts starts (see createSessionTransports); the sync transport is
   *   listed for symmetry: its controller needs nothing of it. Without them nothing serves gRPC.
   */
  static forRoot(config: SessionConfig, logger: Logger, transports?: SessionTransports): DynamicModule {
    const identity = new SessionIdentity(config);
    return {
      module: SessionModule,
      imports: [
        HashRingModule.forRoot({}),
        MetaClientModule.forRoot({ metaAddresses: config.meta, node: identity.node(), logger }),
      ],
      controllers: [AdminController, SessionAdminController, SessionController, SessionSyncController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: METRICS, useValue: new Metrics('session') },
        { provide: CLIENT_TRANSPORT, useValue: transports?.clients ?? null },
        {
          provide: ADMISSION,
          useFactory: () => new TokenBucket(config.maxConnectsPerSecond, config.maxConnectsPerSecond),
        },
        { provide: SessionIdentity, useValue: identity },
        SessionReadiness,
        SessionMetrics,
        SwitchBoard,
        ClientConnections,
        GrpcSessionPort,
        SESSION_NODE_PROVIDER,
        RegistrationService,
        ProvideDataService,
        ClientStreamService,
        SessionService,
        { provide: READINESS, useExisting: SessionService },
      ],
    };
  }
}
