import type { ClientHello, ClientMessage, ServerMessage } from '@sofareg/contracts';
import type { grpc } from '@sofareg/server-kit';

/** Bounds of one client's send queue. */
export interface ConnectionBounds {
  /** Estimated unsent bytes at most. */
  maxBufferedBytes: number;
  /** Unsent messages at most. */
  maxQueuedMessages: number;
}

/**
 * One client's stream. Sends are bounded: when the client reads too slowly and more than
 * `maxQueuedMessages` messages or about `maxBufferedBytes` bytes wait unsent, the connection is closed (the
 * client reconnects and re-registers) rather than letting memory grow without end.
 */
export class ClientConnection {
  hello: ClientHello | undefined;
  closed = false;
  readonly openedAt = Date.now();
  /** Estimated bytes written to the stream and not yet flushed. */
  private queuedBytes = 0;
  private readonly flushed: (bytes: number) => () => void;

  /**
   * @param clientIp the IP switches (client-off, gray-open, blacklists) apply to: the peer's address, or the
   *   address the client reports in its hello when the peer is on loopback (see {@link effectiveClientIp}).
   */
  constructor(
    readonly connectId: string,
    readonly peer: string,
    public clientIp: string,
    private readonly call: grpc.ServerDuplexStream<ClientMessage, ServerMessage>,
    private readonly bounds: ConnectionBounds,
    private readonly onOverflow: (c: ClientConnection, why: string) => void,
  ) {
    this.flushed = (bytes) => () => {
      this.queuedBytes -= bytes;
    };
  }

  /** Messages waiting in the stream. */
  get queuedMessages(): number {
    return this.call.writableLength;
  }

  /** Queues a message; returns false (and closes the connection) when its send queue is over a bound. */
  send(msg: ServerMessage): boolean {
    if (this.closed) return false;
    const bytes = estimateBytes(msg);
    this.queuedBytes += bytes;
    this.call.write(msg, this.flushed(bytes));
    if (this.queuedBytes > this.bounds.maxBufferedBytes || this.call.writableLength > this.bounds.maxQueuedMessages) {
      const why = this.queuedBytes > this.bounds.maxBufferedBytes ? `${this.queuedBytes} bytes` : `${this.call.writableLength} messages`;
      this.onOverflow(this, why);
      this.close();
      return false;
    }
    return true;
  }

  /** Ends the stream (the client sees it end and reconnects). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.call.end();
  }
}

/** A cheap upper-bound estimate of a message's encoded size, for the send-queue bound. */
export function estimateBytes(msg: ServerMessage): number {
  const body = msg.body;
  if (!body) return 16;
  if (body.$case === 'push') {
    let n = 64 + body.value.dataInfoId.length;
    for (const id of body.value.registerIds) n += id.length + 2;
    const zoneData = body.value.data?.zoneData ?? {};
    for (const zone in zoneData) {
      n += zone.length + 8;
      for (const a of zoneData[zone].dataList) n += a.length + 2;
    }
    return n;
  }
  if (body.$case === 'config') return 64 + body.value.key.length + body.value.value.length + body.value.registerIds.length * 40;
  return 128;
}

/**
 * The IP a client's switches apply to: the peer address as the session sees it; but when the peer is on
 * loopback (a client on the same host, or a local proxy) the IP the client reports in its hello, if any.
 */
export function effectiveClientIp(peerIp: string, reportedIp: string | undefined): string {
  const loopback = peerIp === '::1' || peerIp.startsWith('127.') || peerIp === 'localhost' || peerIp.startsWith('::ffff:127.');
  return loopback && reportedIp ? reportedIp : peerIp;
}
