import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { NodeId } from '../../core';
import type { GrpcTransportOptions } from '../grpc-transport';
import type { PeerAddresses } from '../peers';
import type { RaftLogger, RaftNodeOptions } from '../raft-node';
import type { StateMachine } from '../state-machine';

/** Options of `RaftModule.forRoot` / `forRootAsync`. */
export interface RaftModuleOptions {
  /** This node's id (a key of `peers`). */
  id: NodeId;
  /** Members' addresses: `id=host:port,…` (see `parsePeers`) or the parsed map. */
  peers: PeerAddresses | string;
  /** Directory of the durable storage (`openRaftStorage`). Omitted: in memory, for tests only (nothing survives). */
  dataDir?: string;
  /** The application's replicated state machine. */
  stateMachine: StateMachine<unknown>;
  /** Where the transport listens (default: this node's address in `peers`), e.g. `0.0.0.0:9612`. */
  listen?: string;
  /** Join an existing group instead of founding one (see `RaftNodeOptions.join`). */
  join?: boolean;
  /** Timing, snapshot and bound settings of the node. */
  node?: Partial<Omit<RaftNodeOptions, 'id' | 'storage' | 'transport' | 'stateMachine' | 'peers' | 'join' | 'logger'>>;
  /** Queue, batch and snapshot settings of the gRPC transport. */
  transport?: Omit<GrpcTransportOptions, 'listen'>;
  logger?: RaftLogger;
}

/**
 * The dynamic-module plumbing: `forRoot(options)` and `forRootAsync({ imports, inject, useFactory })`, plus
 * the extra `isGlobal` (default false).
 */
export const {
  ConfigurableModuleClass: RaftConfigurableModule,
  MODULE_OPTIONS_TOKEN: RAFT_MODULE_OPTIONS,
  OPTIONS_TYPE: RAFT_MODULE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: RAFT_MODULE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RaftModuleOptions>({ moduleName: 'Raft' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
