import type { ClientHello, ClientMessage, ServerMessage } from '@sofareg/contracts';
import type { TurnCoalescer } from '@sofareg/model';
import type { grpc } from '@sofareg/server-kit';

/** A message queued for a connection, with its estimated size. */
export interface Outbound {
  msg: ServerMessage;
  bytes: number;
}

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
 * client reconnects and re-registers) rather than letting memory grow without end. Once the client's hello
 * says it reads batches, what is sent to it within one event-loop turn goes out as one frame.
 */
export class ClientConnection {
  hello: ClientHello | undefined;
  closed = false;
  readonly openedAt = Date.now();
  /** Estimated bytes queued and not yet flushed to the socket. */
  private queuedBytes = 0;
  /** Messages queued and not yet flushed to the socket. */
  private unsent = 0;
  private readonly flushed: (bytes: number, messages: number) => () => void;

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
    private readonly coalescer?: TurnCoalescer<ClientConnection, Outbound>,
  ) {
    this.flushed = (bytes, messages) => () => {
      this.queuedBytes -= bytes;
      this.unsent -= messages;
    };
  }

  /** Messages waiting to be flushed to the socket. */
  get queuedMessages(): number {
    return this.unsent;
  }

  /** Queues a message; returns false (and closes the connection) when its send queue is over a bound. */
  send(msg: ServerMessage): boolean {
    if (this.closed) return false;
    const out = { msg, bytes: estimateBytes(msg) };
    this.unsent++;
    this.queuedBytes += out.bytes;
    if (this.coalescer && this.hello?.acceptsBatches) this.coalescer.add(this, out);
    else this.write([out]);
    if (this.queuedBytes > this.bounds.maxBufferedBytes || this.unsent > this.bounds.maxQueuedMessages) {
      const why =
        this.queuedBytes > this.bounds.maxBufferedBytes ? `${this.queuedBytes} bytes` : `${this.unsent} messages`;
      this.onOverflow(this, why);
      this.coalescer?.drop(this);
      this.close();
      return false;
    }
    return true;
  }

  /** Writes queued messages to the stream as one frame (also the coalescer's delivery). */
  write(queued: Outbound[]): void {
    if (this.closed) return;
    let bytes = 0;
    for (const q of queued) bytes += q.bytes;
    const frame: ServerMessage =
      queued.length === 1 ? queued[0].msg : { body: { $case: 'batch', value: { messages: queued.map((q) => q.msg) } } };
    this.call.write(frame, this.flushed(bytes, queued.length));
  }

  /** Ends the stream (the client sees it end and reconnects) once what is queued is written. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.coalescer?.flushSink(this);
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
  if (body.$case === 'config')
    return 64 + body.value.key.length + body.value.value.length + body.value.registerIds.length * 40;
  return 128;
}

/**
 * The IP a client's switches apply to: the peer address as the session sees it; but when the peer is on
 * loopback (a client on the same host, or a local proxy) the IP the client reports in its hello, if any.
 */
export function effectiveClientIp(peerIp: string, reportedIp: string | undefined): string {
  const loopback =
    peerIp === '::1' || peerIp.startsWith('127.') || peerIp === 'localhost' || peerIp.startsWith('::ffff:127.');
  return loopback && reportedIp ? reportedIp : peerIp;
}
