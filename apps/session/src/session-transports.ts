import { SessionServiceService, SessionSyncServiceService } from '@sofareg/contracts';
import { GrpcJsTransport, Logger } from '@sofareg/server-kit';
import { SessionConfig } from './session-config';

/** The session's two gRPC transports: clients on `port`, data servers' sync on `syncPort`. */
export interface SessionTransports {
  clients: GrpcJsTransport;
  sync: GrpcJsTransport;
}

/** Builds the session's transports from its configuration (each serves only its own service). */
export function createSessionTransports(config: SessionConfig, logger: Logger): SessionTransports {
  return {
    clients: new GrpcJsTransport({ host: config.host, port: config.port, services: [SessionServiceService], logger }),
    sync: new GrpcJsTransport({
      host: config.host,
      port: config.syncPort,
      services: [SessionSyncServiceService],
      logger,
    }),
  };
}
