import { ConfigurableModuleBuilder } from '@nestjs/common';
import { REPLICATION_OPTIONS } from './replication.tokens';

/** Bounds of leader → follower replication over gRPC. */
export interface ReplicationModuleOptions {
  /** How long one Replicate batch may wait for the follower before the pump retries it (default 5 s). */
  replicateTimeoutMs?: number;
  /** How long a follower waits for a leader's slot snapshot (default 30 s). */
  snapshotTimeoutMs?: number;
}

/** `ReplicationModule.forRoot(options)` / `forRootAsync({ useFactory, inject })`. */
export const { ConfigurableModuleClass: ReplicationModuleBase } =
  new ConfigurableModuleBuilder<ReplicationModuleOptions>({
    optionsInjectionToken: REPLICATION_OPTIONS,
  })
    .setClassMethodName('forRoot')
    .build();
