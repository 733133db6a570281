import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataServiceClient, ReplicateRequest, ReplicateResponse } from '@sofareg/contracts';
import { ClientPool, StreamCallers } from '@sofareg/server-kit';
import { GrpcPeerPort } from './grpc-peer-port';
import { ReplicationServer } from './replication-server';
import { ReplicationModuleBase, ReplicationModuleOptions } from './replication.module-definition';
import { DATA_PEERS, PEER_PORT, REPLICATE_CALLERS, REPLICATION_OPTIONS } from './replication.tokens';

/**
 * Leader → follower replication over gRPC, injected: the peer client pool, one Replicate stream per follower
 * (`REPLICATE_CALLERS`), the leader's {@link GrpcPeerPort} (`PEER_PORT`, what the data-node driver's pump
 * calls) and the follower's {@link ReplicationServer}. Streams and clients close on shutdown.
 */
@Module({
  providers: [
    { provide: DATA_PEERS, useFactory: () => new ClientPool(DataServiceClient) },
    {
      provide: REPLICATE_CALLERS,
      inject: [DATA_PEERS, REPLICATION_OPTIONS],
      useFactory: (peers: ClientPool<DataServiceClient>, options: ReplicationModuleOptions) =>
        new StreamCallers<DataServiceClient, ReplicateRequest, ReplicateResponse>(
          peers,
          (c) => c.replicate(),
          options.replicateTimeoutMs ?? 5_000,
        ),
    },
    GrpcPeerPort,
    { provide: PEER_PORT, useExisting: GrpcPeerPort },
    ReplicationServer,
  ],
  exports: [PEER_PORT, ReplicationServer],
})
export class ReplicationModule extends ReplicationModuleBase implements OnApplicationShutdown {
  constructor(
    @Inject(DATA_PEERS) private readonly peers: ClientPool<DataServiceClient>,
    @Inject(REPLICATE_CALLERS)
    private readonly callers: StreamCallers<DataServiceClient, ReplicateRequest, ReplicateResponse>,
  ) {
    super();
  }

  onApplicationShutdown(): void {
    this.callers.closeAll();
    this.peers.closeAll();
  }
}
