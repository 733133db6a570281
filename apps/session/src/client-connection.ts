import type { ClientHello, ClientMessage, ServerMessage } from '@sofareg/contracts';
import type { grpc } from '@sofareg/server-kit';

/**
 * One client's stream. Sends are bounded: when the client reads too slowly and more than `maxBufferedBytes`
 * wait in the stream's buffer, the connection is closed (the client reconnects and re-registers) rather than
 * letting memory grow without end.
 */
export class ClientConnection {
  hello: ClientHello | undefined;
  closed = false;
  readonly openedAt = Date.now();

  constructor(
    readonly connectId: string,
    readonly peer: string,
    readonly clientIp: string,
    private readonly call: grpc.ServerDuplexStream<ClientMessage, ServerMessage>,
    private readonly maxBufferedBytes: number,
    private readonly onOverflow: (c: ClientConnection) => void,
  ) {}

  /** Queues a message; returns false (and closes the connection) when its send buffer is over the bound. */
  send(msg: ServerMessage): boolean {
    if (this.closed) return false;
    this.call.write(msg);
    if (this.call.writableLength > this.maxBufferedBytes) {
      this.onOverflow(this);
      this.close();
      return false;
    }
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.call.end();
  }
}
