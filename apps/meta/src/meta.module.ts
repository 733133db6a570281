import { DynamicModule, Module } from '@nestjs/common';
import { LeaderDuties } from '@sofareg/meta-core';
import { HashRing, HashRingModule } from '@sofareg/hash-ring';
import { RAFT_NODE, RaftModule, RaftNode } from '@sofareg/raft';
import {
  AdminController,
  CONFIG,
  GrpcJsTransport,
  LOGGER,
  METRICS,
  Logger,
  Metrics,
  READINESS,
} from '@sofareg/server-kit';
import { MetaAdminController } from './meta-admin.controller';
import { MetaConfig } from './meta-config';
import { RaftMetaStore } from './meta-store';
import { LeadershipService } from './leadership.service';
import { MetaService } from './meta.service';
import { MetaController } from './meta.controller';
import { LEADER_DUTIES, META_STORE, META_TRANSPORTS } from './meta.tokens';
import { WatchHub } from './watch-hub.service';

/**
 * Wires one meta node: its Raft-replicated store (a group of one without `--peers`) on the node that `RaftModule`
 * starts and stops, the leader's duties and their driver (arranging slots through the injected `HashRing`), the watch streams, the gRPC MetaService
 * (`MetaController`, served by `GrpcJsTransport`) and the HTTP admin.
 */
@Module({})
export class MetaModule {
  /** `transports`: the gRPC transports `launchRole` serves (MetaController's); their close ends the watch streams. */
  static forRoot(config: MetaConfig, logger: Logger, transports: readonly GrpcJsTransport[] = []): DynamicModule {
    const raftLogger = logger.child({ component: 'raft' });
    const store = new RaftMetaStore({
      nodeId: config.nodeId,
      peers: config.metaPeers,
      dataDir: config.dataDir,
      listen: `${config.host}:${config.raftPort}`,
      tickMs: config.raftTickMs,
      logger: {
        info: (obj, msg) => raftLogger.info(obj, msg),
        warn: (obj, msg) => raftLogger.warn(obj, msg),
        error: (obj, msg) => raftLogger.error(obj, msg),
      },
    });
    return {
      module: MetaModule,
      imports: [
        HashRingModule.forRoot({ slots: config.slots, replicas: config.replicas }),
        // Starts the Raft node (file storage, the Raft port) as the module is created; stops it on shutdown.
        RaftModule.forRoot(store.raftModuleOptions()),
      ],
      controllers: [AdminController, MetaAdminController, MetaController],
      providers: [
        { provide: META_TRANSPORTS, useValue: transports },
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: METRICS, useValue: new Metrics('meta') },
        { provide: META_STORE, inject: [RAFT_NODE], useFactory: (node: RaftNode) => store.attach(node) },
        {
          provide: LEADER_DUTIES,
          inject: [HashRing],
          useFactory: (ring: HashRing) =>
            new LeaderDuties({
              leaseMs: config.leaseMs,
              suspectMs: config.suspectMs,
              warmupMs: config.warmupMs,
              takeoverGraceMs: config.takeoverGraceMs,
              slotCount: config.slots,
              replicas: config.replicas,
              arrange: (prev, live) => ring.arrange(prev, live),
            }),
        },
        WatchHub,
        LeadershipService,
        MetaService,
        { provide: READINESS, useExisting: MetaService },
      ],
    };
  }
}
