import { DynamicModule, Module } from '@nestjs/common';
import { LeaderDuties } from '@sofareg/meta-core';
import { AdminController, CONFIG, LOGGER, METRICS, Logger, Metrics, READINESS } from '@sofareg/server-kit';
import { MetaAdminController } from './meta-admin.controller';
import { MetaConfig } from './meta-config';
import { RaftMetaStore } from './meta-store';
import { LeadershipService } from './leadership.service';
import { MetaService } from './meta.service';
import { LEADER_DUTIES, META_STORE } from './meta.tokens';
import { WatchHub } from './watch-hub.service';

/**
 * Wires one meta node: its Raft-replicated store (a group of one without `--peers`), the leader's duties and
 * their driver, the watch streams, the gRPC service and the HTTP admin.
 */
@Module({})
export class MetaModule {
  static forRoot(config: MetaConfig, logger: Logger): DynamicModule {
    const raftLogger = logger.child({ component: 'raft' });
    return {
      module: MetaModule,
      controllers: [AdminController, MetaAdminController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: METRICS, useValue: new Metrics('meta') },
        {
          provide: META_STORE,
          useFactory: () =>
            new RaftMetaStore({
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
            }),
        },
        {
          provide: LEADER_DUTIES,
          useFactory: () =>
            new LeaderDuties({
              leaseMs: config.leaseMs,
              suspectMs: config.suspectMs,
              warmupMs: config.warmupMs,
              takeoverGraceMs: config.takeoverGraceMs,
              slotCount: config.slots,
              replicas: config.replicas,
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
