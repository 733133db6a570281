import { ChannelCredentials, ChannelOptions, credentials as grpcCredentials } from '@grpc/grpc-js';
import { ClientMessage, ServerMessage, SessionServiceClient } from '@sofareg/contracts';
import type { Transport, TransportConnection, TransportHandlers } from './transport';

/** Options of {@link GrpcTransport}. */
export interface GrpcTransportOptions {
  /** `grpc.keepalive_time_ms`: ping the session after this long without activity. */
  keepaliveTimeMs: number;
  /** `grpc.keepalive_timeout_ms`: a ping unanswered this long kills the connection. */
  keepaliveTimeoutMs: number;
  /** Extra channel options, applied last. */
  channelOptions?: Readonly<Record<string, string | number>>;
  /** Default: insecure (plain TCP), as the sessions serve. */
  credentials?: ChannelCredentials;
}

/** Largest message the client accepts from a session (a push of a big datum). */
export const MAX_RECEIVE_MESSAGE_BYTES = 32 * 1024 * 1024;

/**
 * The channel options the client uses. Keepalive pings run even without calls so a half-open TCP connection
 * is detected within keepaliveTime + keepaliveTimeout; each client gets its own subchannel pool so two
 * client instances never share (and never inherit the reconnect backoff of) one TCP connection. grpc-js's
 * retries are off (the client replays by its own policy, and the retry layer buffers every message of the
 * stream), and so is channelz bookkeeping (a measurable cost per message).
 */
export function grpcChannelOptions(options: GrpcTransportOptions): ChannelOptions {
  return {
    'grpc.keepalive_time_ms': options.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.use_local_subchannel_pool': 1,
    'grpc.enable_retries': 0,
    'grpc.enable_channelz': 0,
    'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1_000,
    ...(options.channelOptions ?? {}),
  };
}

/**
 * The gRPC transport: a fresh grpc-js client (channel) per dial, one `SessionService/Connect` bidi stream on
 * it. A fresh channel per dial keeps reconnect timing in the client's own policy, not in grpc-js's.
 */
export class GrpcTransport implements Transport {
  /** The options every channel is created with. */
  readonly channelOptions: ChannelOptions;
  private readonly credentials: ChannelCredentials;

  constructor(options: GrpcTransportOptions) {
    this.channelOptions = Object.freeze(grpcChannelOptions(options));
    this.credentials = options.credentials ?? grpcCredentials.createInsecure();
  }

  open(server: string, handlers: TransportHandlers): TransportConnection {
    const client = new SessionServiceClient(server, this.credentials, this.channelOptions);
    const call = client.connect();
    let closed = false;
    const finish = (error?: Error): void => {
      if (closed) return;
      closed = true;
      client.close();
      handlers.onClose(error);
    };
    call.on('data', (message: ServerMessage) => {
      if (!closed) handlers.onMessage(message);
    });
    call.on('error', (error: Error) => finish(error));
    call.on('end', () => finish(undefined));
    return {
      send(message: ClientMessage): void {
        if (!closed) call.write(message);
      },
      close(): void {
        if (closed) return;
        closed = true;
        call.cancel();
        client.close();
      },
    };
  }
}
