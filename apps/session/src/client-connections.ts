import { Injectable } from '@nestjs/common';
import { TurnCoalescer } from '@sofareg/model';
import { ClientConnection, Outbound } from './client-connection';
import { SessionMetrics } from './session-metrics';

/** Open client connections by connectId, and the per-turn framing of what is sent to them. */
@Injectable()
export class ClientConnections {
  private readonly byId = new Map<string, ClientConnection>();
  /** What is sent to each batch-reading client within one event-loop turn goes out as one frame. */
  readonly outbound: TurnCoalescer<ClientConnection, Outbound>;

  constructor(m: SessionMetrics) {
    this.outbound = new TurnCoalescer<ClientConnection, Outbound>(
      setImmediate,
      (conn, queued) => {
        m.framedMessages.observe(queued.length);
        conn.write(queued);
      },
      // Pushes of large datums in one turn leave as several frames, each far below the client's 32 MiB limit.
      { maxItems: 256, maxBytes: 4 * 1024 * 1024, sizeOf: (q) => q.bytes },
    );
  }

  get size(): number {
    return this.byId.size;
  }

  get(connectId: string): ClientConnection | undefined {
    return this.byId.get(connectId);
  }

  has(connectId: string): boolean {
    return this.byId.has(connectId);
  }

  values(): IterableIterator<ClientConnection> {
    return this.byId.values();
  }

  add(conn: ClientConnection): void {
    this.byId.set(conn.connectId, conn);
  }

  /** Removes a connection; false when it was already gone. */
  delete(connectId: string): boolean {
    return this.byId.delete(connectId);
  }
}
