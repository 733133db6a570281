import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import type { ErrorInfo, ReplicateRequest, ReplicateResponse } from '@sofareg/contracts';
import { ServedStream, grpc, serveStreamCalls } from '@sofareg/server-kit';

/**
 * The follower side: serves the Replicate streams leaders open, each request answered by `handle`, and ends
 * them before shutdown so the gRPC server stops at once.
 */
@Injectable()
export class ReplicationServer implements BeforeApplicationShutdown {
  private readonly served = new Set<ServedStream>();

  /** Serves one Replicate stream; a handler that throws answers every slot of the request with `Internal`. */
  serve(
    call: grpc.ServerDuplexStream<ReplicateRequest, ReplicateResponse>,
    handle: (req: ReplicateRequest) => ReplicateResponse,
    onError: (err: Error) => ErrorInfo,
  ): void {
    const stream = serveStreamCalls(call, handle, (req, err) => {
      const error = onError(err);
      return {
        slots: req.slots.map((so) => ({ slotId: so.slotId, ok: false, nextSeq: 0, error })),
        callId: req.callId,
      };
    });
    this.served.add(stream);
    void stream.closed.then(() => this.served.delete(stream));
  }

  /** Before the gRPC server stops: it would otherwise wait for these long-lived streams. */
  beforeApplicationShutdown(): void {
    for (const s of this.served) s.end();
  }
}
