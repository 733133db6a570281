import type { Provider } from '@nestjs/common';
import type { NodeInfo } from '@sofareg/contracts';
import {
  DEFAULT_DRIVER_OPTIONS,
  DataNodeDriver,
  DataNodePort,
  DataServerCore,
  DriverObserver,
  DriverScheduler,
  PeerPort,
  SessionSyncPort,
} from '@sofareg/data-core';
import { CONFIG, LOGGER, Logger, METRICS, MetaClientOptions, Metrics } from '@sofareg/server-kit';
import { randomUUID } from 'node:crypto';
import { DataConfig } from './data-config';
import { dataDriverMetrics } from './data-metrics';
import {
  DATA_CORE,
  DATA_NODE_DRIVER,
  DATA_NODE_PORT,
  DRIVER_OBSERVER,
  DRIVER_SCHEDULER,
  SESSION_SYNC_PORT,
} from './data.tokens';
import { PEER_PORT } from './replication/replication.tokens';
import { GrpcSessionSyncPort } from './session-sync.port';
import { wallClockScheduler } from './wall-clock-scheduler';

/** This server's address as peers and sessions know it. */
export function selfAddress(config: DataConfig): string {
  return `${config.advertiseHost}:${config.port}`;
}

/** This data server as meta lists it; the process id is fresh at every start. */
export function dataNodeInfo(config: DataConfig): NodeInfo {
  return {
    address: selfAddress(config),
    role: 'data',
    zone: config.zone,
    dataCenter: config.dataCenter,
    processId: randomUUID(),
    startedAt: Date.now(),
    httpAddress: `${config.advertiseHost}:${config.httpPort}`,
    syncAddress: '',
  };
}

/**
 * What the data server's meta client is built with (`MetaClientModule.forRoot`): it registers this node and
 * the slot settings meta must agree with. The data node service starts it once its handlers are wired.
 */
export function metaClientOptions(config: DataConfig, logger: Logger): MetaClientOptions {
  const slotSettings = { slotCount: config.slots, replicas: config.replicas, hash: 'crc32c' as const };
  return { metaAddresses: config.meta, node: dataNodeInfo(config), slotSettings, logger };
}

/** The core, the driver and what the driver is given: its port, scheduler and metrics. */
export const dataNodeProviders: Provider[] = [
  {
    provide: DATA_CORE,
    inject: [CONFIG],
    useFactory: (config: DataConfig) =>
      new DataServerCore({
        self: selfAddress(config),
        dataCenter: config.dataCenter,
        maxLogPerSlot: 20_000,
        maxOpsPerSlot: 2_000,
        sessionGraceMs: config.sessionGraceMs,
      }),
  },
  GrpcSessionSyncPort,
  { provide: SESSION_SYNC_PORT, useExisting: GrpcSessionSyncPort },
  {
    provide: DATA_NODE_PORT,
    inject: [SESSION_SYNC_PORT, PEER_PORT],
    useFactory: (sessions: SessionSyncPort, peers: PeerPort): DataNodePort => ({
      fetchSlotPublishers: (a, req, reply) => sessions.fetchSlotPublishers(a, req, reply),
      slotDigest: (a, req, reply) => sessions.slotDigest(a, req, reply),
      replicate: (f, req, reply) => peers.replicate(f, req, reply),
      slotSnapshot: (l, req, reply) => peers.slotSnapshot(l, req, reply),
    }),
  },
  { provide: DRIVER_SCHEDULER, useValue: wallClockScheduler },
  {
    provide: DRIVER_OBSERVER,
    inject: [METRICS, DATA_CORE],
    useFactory: (metrics: Metrics, core: DataServerCore) => dataDriverMetrics(metrics, core),
  },
  {
    provide: DATA_NODE_DRIVER,
    inject: [DATA_CORE, DATA_NODE_PORT, DRIVER_SCHEDULER, CONFIG, LOGGER, DRIVER_OBSERVER],
    useFactory: (
      core: DataServerCore,
      port: DataNodePort,
      scheduler: DriverScheduler,
      config: DataConfig,
      logger: Logger,
      observer: DriverObserver,
    ) => {
      const opts = {
        ...DEFAULT_DRIVER_OPTIONS,
        replicationWaitMs: config.replicationWaitMs,
        digestIntervalMs: config.digestIntervalMs,
        tombstoneTtlMs: config.tombstoneTtlMs,
      };
      return new DataNodeDriver(core, port, scheduler, opts, logger, observer);
    },
  },
];
