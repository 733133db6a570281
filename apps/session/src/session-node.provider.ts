import { Provider } from '@nestjs/common';
import { HashRing } from '@sofareg/hash-ring';
import { CONFIG, LOGGER, Logger, METRICS, Metrics } from '@sofareg/server-kit';
import { SessionNode, systemScheduler } from '@sofareg/session-node';
import { GrpcSessionPort } from './grpc-session-port';
import { SessionConfig } from './session-config';
import { SessionIdentity } from './session-identity';
import { SwitchBoard } from './switch-board';

/**
 * The session node (registry, write routing, push pipeline, sync answers) over the gRPC port and system time,
 * routing by the hash ring's current table (fed from meta by SessionService).
 */
export const SESSION_NODE_PROVIDER: Provider = {
  provide: SessionNode,
  inject: [CONFIG, SessionIdentity, GrpcSessionPort, LOGGER, METRICS, HashRing, SwitchBoard],
  useFactory: (
    config: SessionConfig,
    identity: SessionIdentity,
    port: GrpcSessionPort,
    logger: Logger,
    metrics: Metrics,
    ring: HashRing,
    switches: SwitchBoard,
  ) =>
    new SessionNode(
      {
        address: identity.address,
        processId: identity.processId,
        zone: config.zone,
        dataCenter: config.dataCenter,
        write: {
          maxBatch: 1_000,
          maxInFlight: 2,
          retryForMs: config.writeRetryMs,
          maxPending: config.maxPendingWrites,
        },
        push: {
          retry: {
            ackTimeoutMs: config.pushAckTimeoutMs,
            initialBackoffMs: config.pushRetryInitialMs,
            maxBackoffMs: config.pushRetryMaxMs,
            breakerFailures: config.pushBreakerFailures,
            breakerOpenMs: config.pushBreakerOpenMs,
          },
          window: {
            maxDelayMs: config.pushMergeMaxMs,
            stepMs: Math.min(5, config.pushMergeMaxMs),
            quietMs: Math.max(config.pushMergeMaxMs / 2, 1),
          },
          scanIntervalMs: config.pushScanIntervalMs,
        },
      },
      {
        port,
        scheduler: systemScheduler,
        logger,
        metrics,
        slotTable: () => ring.table,
        switches: () => switches.state,
      },
    ),
};
