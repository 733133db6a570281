import { Inject, Injectable } from '@nestjs/common';
import type {
  DataServiceClient,
  ReplicateRequest,
  ReplicateResponse,
  SlotSnapshotRequest,
  SlotSnapshotResponse,
} from '@sofareg/contracts';
import type { PeerPort, Reply } from '@sofareg/data-core';
import { ClientPool, StreamCallers, callUnary } from '@sofareg/server-kit';
import { replyTo } from '../reply-to';
import type { ReplicationModuleOptions } from './replication.module-definition';
import { DATA_PEERS, REPLICATE_CALLERS, REPLICATION_OPTIONS } from './replication.tokens';

/** The leader's calls to peer data servers over gRPC: Replicate over one stream per follower, unary snapshots. */
@Injectable()
export class GrpcPeerPort implements PeerPort {
  private readonly snapshotTimeoutMs: number;

  constructor(
    @Inject(DATA_PEERS) private readonly peers: ClientPool<DataServiceClient>,
    @Inject(REPLICATE_CALLERS)
    private readonly callers: StreamCallers<DataServiceClient, ReplicateRequest, ReplicateResponse>,
    @Inject(REPLICATION_OPTIONS) options: ReplicationModuleOptions,
  ) {
    this.snapshotTimeoutMs = options.snapshotTimeoutMs ?? 30_000;
  }

  replicate(follower: string, req: ReplicateRequest, reply: Reply<ReplicateResponse>): void {
    replyTo(this.callers.get(follower).call(req), reply);
  }

  slotSnapshot(leader: string, req: SlotSnapshotRequest, reply: Reply<SlotSnapshotResponse>): void {
    const client = this.peers.get(leader);
    replyTo(callUnary(client, client.slotSnapshot, req, this.snapshotTimeoutMs), reply);
  }
}
