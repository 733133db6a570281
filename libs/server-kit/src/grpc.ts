import * as grpc from '@grpc/grpc-js';

/**
 * Keepalive on every server: ping an idle client every 5 s and drop it when no answer comes within 5 s,
 * so a half-open connection is detected in well under 15 s. Clients may ping as often as every 5 s.
 * Channelz stays on here: with it off, grpc-js 1.14 no longer tracks the server's connections and
 * `forceShutdown` leaves them open, so clients never learn that the server went.
 */
export const SERVER_CHANNEL_OPTIONS: grpc.ServerOptions = {
  'grpc.keepalive_time_ms': 5_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 4_000,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

/**
 * Client channel options between servers: keepalive, fast reconnect, large messages for sync pages. grpc-js's
 * own retries are off (every caller retries by its own policy, and the retry layer buffers each message), and
 * so is channelz bookkeeping (a measurable cost per message).
 */
export const CLIENT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.enable_retries': 0,
  'grpc.enable_channelz': 0,
  'grpc.keepalive_time_ms': 5_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2_000,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

/** A service definition and its implementation, as grpc-js takes them. */
export interface ServiceBinding {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

/** A started grpc-js server and the port it bound (useful with port 0). */
export interface GrpcServerHandle {
  server: grpc.Server;
  port: number;
  /** Stops accepting calls, waits up to `graceMs` for running ones, then cancels the rest. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Starts a grpc-js server with the given services on host:port (port 0 picks a free one). */
export async function startGrpcServer(
  host: string,
  port: number,
  services: ServiceBinding[],
): Promise<GrpcServerHandle> {
  const server = new grpc.Server(SERVER_CHANNEL_OPTIONS);
  for (const s of services) server.addService(s.definition, s.implementation);
  const bound = await bindInsecure(server, `${host}:${port}`);
  return { server, port: bound, shutdown: (graceMs = 2_000) => shutdownWithin(server, graceMs) };
}

/** Binds a server to `host:port` without TLS; resolves with the port bound (the chosen one for port 0). */
export function bindInsecure(server: grpc.Server, address: string): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}

/**
 * Stops a server: no new calls, running ones may finish within `graceMs`, then the rest are cancelled
 * (`forceShutdown`). Resolves once it stopped either way.
 */
export function shutdownWithin(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/** Calls a generated unary client method as a promise with a deadline. */
export function callUnary<Req, Res>(
  client: grpc.Client,
  method: UnaryMethod<Req, Res>,
  request: Req,
  timeoutMs = 5_000,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    method.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/** True for errors worth retrying elsewhere or later: the peer is down, busy, or the call timed out. */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: number })?.code;
  return (
    code === grpc.status.UNAVAILABLE ||
    code === grpc.status.DEADLINE_EXCEEDED ||
    code === grpc.status.RESOURCE_EXHAUSTED ||
    code === grpc.status.CANCELLED
  );
}

export { grpc };
