import { Inject, Injectable } from '@nestjs/common';
import {
  FetchSlotPublishersRequest,
  FetchSlotPublishersResponse,
  SessionSyncServiceService,
  SlotDigestRequest,
  SlotDigestResponse,
} from '@sofareg/contracts';
import { GrpcServerHandle, LOGGER, Logger, grpc, startGrpcServer } from '@sofareg/server-kit';
import { SessionNode } from '@sofareg/session-node';

/**
 * The session's server-facing gRPC (port 9602): lets a data server rebuild a slot from the sessions, which
 * hold the truth about their clients' publishers, and compare digests to repair differences. The answers are
 * the session node's; this only serves them.
 */
@Injectable()
export class SessionSyncServer {
  private handle: GrpcServerHandle | undefined;

  constructor(
    private readonly node: SessionNode,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Listens on `host:port`; resolves with the bound port. */
  async start(host: string, port: number): Promise<number> {
    type Unary<Req, Res> = grpc.ServerUnaryCall<Req, Res>;
    this.handle = await startGrpcServer(host, port, [
      {
        definition: SessionSyncServiceService,
        implementation: {
          fetchSlotPublishers: (
            call: Unary<FetchSlotPublishersRequest, FetchSlotPublishersResponse>,
            cb: grpc.sendUnaryData<FetchSlotPublishersResponse>,
          ) => this.answer(cb, () => this.node.fetchSlotPublishers(call.request)),
          slotDigest: (call: Unary<SlotDigestRequest, SlotDigestResponse>, cb: grpc.sendUnaryData<SlotDigestResponse>) =>
            this.answer(cb, () => this.node.slotDigest(call.request)),
        },
      },
    ]);
    return this.handle.port;
  }

  async stop(): Promise<void> {
    await this.handle?.shutdown();
  }

  private answer<T>(cb: grpc.sendUnaryData<T>, fn: () => T): void {
    try {
      cb(null, fn());
    } catch (err) {
      this.logger.error({ err }, 'sync request failed');
      cb({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
    }
  }
}
