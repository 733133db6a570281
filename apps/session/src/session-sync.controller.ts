import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod, RpcException } from '@nestjs/microservices';
import type {
  FetchSlotPublishersRequest,
  FetchSlotPublishersResponse,
  SlotDigestRequest,
  SlotDigestResponse,
} from '@sofareg/contracts';
import { LOGGER, Logger, grpc } from '@sofareg/server-kit';
import { SessionNode } from '@sofareg/session-node';
import { SessionReadiness } from './session-readiness';

/**
 * SessionSyncService (the server port, 9602): lets a data server rebuild a slot from the sessions, which hold
 * the truth about their clients' publishers, and compare digests to repair differences. The answers are the
 * session node's. Before the session has started, and for a request it cannot answer, the caller gets a gRPC
 * error (UNAVAILABLE, INVALID_ARGUMENT), never a page that would look like an empty session.
 */
@Controller()
export class SessionSyncController {
  constructor(
    private readonly node: SessionNode,
    private readonly readiness: SessionReadiness,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @GrpcMethod('SessionSyncService', 'FetchSlotPublishers')
  fetchSlotPublishers(req: FetchSlotPublishersRequest): FetchSlotPublishersResponse {
    return this.answer(() => this.node.fetchSlotPublishers(req));
  }

  @GrpcMethod('SessionSyncService', 'SlotDigest')
  slotDigest(req: SlotDigestRequest): SlotDigestResponse {
    return this.answer(() => this.node.slotDigest(req));
  }

  private answer<T>(fn: () => T): T {
    if (!this.readiness.started)
      throw new RpcException({ code: grpc.status.UNAVAILABLE, message: 'session is starting' });
    try {
      return fn();
    } catch (err) {
      this.logger.error({ err }, 'sync request failed');
      throw new RpcException({ code: grpc.status.INVALID_ARGUMENT, message: (err as Error).message });
    }
  }
}
