import * as grpc from '@grpc/grpc-js';
import { CustomTransportStrategy, GrpcMethodStreamingType, MessageHandler, ServerGrpc } from '@nestjs/microservices';
import { EmptyError, Observable, firstValueFrom, isObservable } from 'rxjs';
import type { Logger } from 'pino';
import { SERVER_CHANNEL_OPTIONS, bindInsecure, shutdownWithin } from '../grpc';
import { GrpcMethodRoute, candidatePatterns, grpcPattern, routesOf } from './grpc-routes';
import { toGrpcStatus } from './grpc-status';

/** A service definition served under an extra name: handlers may use `@GrpcMethod(name, rpc)` as well. */
export interface NamedServiceDefinition {
  name: string;
  definition: grpc.ServiceDefinition;
}

/** Options of {@link GrpcJsTransport}. */
export interface GrpcJsTransportOptions {
  /** Interface to bind, e.g. `0.0.0.0` or `127.0.0.1`. */
  host: string;
  /** Port to bind; 0 picks a free one (read it from `port` or `bound()` once listening). */
  port: number;
  /**
   * The services this transport serves (ts-proto `outputServices=grpc-js` definitions such as
   * `DataServiceService`). Only these: handlers of other services are ignored by this instance.
   */
  services: readonly (grpc.ServiceDefinition | NamedServiceDefinition)[];
  /**
   * grpc-js server options; default {@link SERVER_CHANNEL_OPTIONS}. Keep channelz on (its default): with it
   * off, grpc-js 1.14 loses track of the server's connections and `forceShutdown` leaves them open.
   */
  serverOptions?: grpc.ServerOptions;
  /** Where failures nobody raised on purpose are logged (once each); default Nest's logger. */
  logger?: Logger;
  /** How long `close()` waits for running calls (and close hooks) before cancelling them; default 2000 ms. */
  shutdownGraceMs?: number;
}

/** A hook run by {@link GrpcJsTransport.close} before the server stops, e.g. ending long-lived served streams. */
export type TransportCloseHook = () => void | Promise<void>;

/** A gRPC failure as grpc-js sends it. */
type GrpcFailureStatus = { code: grpc.status; details: string };

type AnyHandler = (...args: unknown[]) => Promise<unknown>;

/** A call this server writes a stream of answers to. */
type ServedStreamCall = grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

interface FoundHandler {
  handler: MessageHandler;
  streaming: GrpcMethodStreamingType;
}

const DEFAULT_SHUTDOWN_GRACE_MS = 2_000;

/**
 * A Nest microservice transport that serves generated grpc-js service definitions directly (no .proto loaded
 * at run time) and dispatches each method to the controller handler declared with Nest's stock decorators:
 *
 * - unary, `@GrpcMethod('DataService', 'GetData')`: `handler(request, metadata, call)` returns a value, a
 *   promise or an observable (its first value answers);
 * - streaming (bidi, client-, server-streaming), `@GrpcStreamCall('SessionService', 'Connect')`: `handler(call)`,
 *   or `handler(call, callback)` for client streaming, gets the raw grpc-js call and owns it (no per-message Nest
 *   work); a server-streaming method may instead use `@GrpcMethod`, whose values are written then the call ended;
 * - `@GrpcStreamMethod` (rxjs streams) is refused at `listen`: use `@GrpcStreamCall`;
 * - a method with no handler answers UNIMPLEMENTED.
 *
 * Every error a handler throws or rejects with, or its observable errors with, is mapped to a gRPC status by
 * `toGrpcStatus`, the one place that does it; unexpected ones are logged once. That needs
 * {@link GrpcExceptionFilter} in front (see {@link useGrpcTransports}), else Nest's default filter hides errors.
 *
 * It extends Nest's `ServerGrpc` (and so `Server`) without using its proto loading: Nest's listener registry
 * hands handlers the gRPC argument layout (request, metadata, call; call and callback) only for instances of
 * `ServerGrpc`; any other `Server` would get the payload alone. Handlers are keyed as `ServerGrpc` keys them.
 */
export class GrpcJsTransport extends ServerGrpc implements CustomTransportStrategy {
  private readonly settings: Required<Omit<GrpcJsTransportOptions, 'logger'>> & Pick<GrpcJsTransportOptions, 'logger'>;
  private readonly closeHooks: TransportCloseHook[] = [];
  private server: grpc.Server | undefined;
  private boundPort: number | undefined;
  private closing: Promise<void> | undefined;
  private readonly boundPromise: Promise<number>;
  private settleBound: { resolve: (port: number) => void; reject: (err: unknown) => void } = {
    resolve: () => undefined,
    reject: () => undefined,
  };

  constructor(options: GrpcJsTransportOptions) {
    super({ package: [], url: `${options.host}:${options.port}` });
    this.settings = {
      serverOptions: SERVER_CHANNEL_OPTIONS,
      shutdownGraceMs: DEFAULT_SHUTDOWN_GRACE_MS,
      ...options,
    };
    this.boundPromise = new Promise<number>((resolve, reject) => (this.settleBound = { resolve, reject }));
    // A transport that fails to listen rejects bound(); nobody may be waiting on it.
    this.boundPromise.catch(() => undefined);
  }

  /** The port bound, once listening (the chosen one when configured with port 0); undefined before. */
  get port(): number | undefined {
    return this.boundPort;
  }

  /** Resolves with the bound port once listening; rejects when binding failed. */
  bound(): Promise<number> {
    return this.boundPromise;
  }

  /**
   * Registers a hook that `close()` runs (all together, bounded by the shutdown grace) before it stops the
   * server: end long-lived streams there so that their peers see a clean end rather than a cancellation.
   */
  onClose(hook: TransportCloseHook): void {
    this.closeHooks.push(hook);
  }

  /** Builds the server from the registered handlers and binds it; `callback(err)` when that fails. */
  override async listen(callback: (err?: unknown, ...rest: unknown[]) => void): Promise<void> {
    try {
      const server = new grpc.Server(this.settings.serverOptions);
      for (const service of this.settings.services) {
        const { definition, name } =
          'definition' in service && typeof service.name === 'string'
            ? (service as NamedServiceDefinition)
            : { definition: service as grpc.ServiceDefinition, name: undefined };
        server.addService(definition, this.implementationOf(definition, name));
      }
      const port = await bindInsecure(server, `${this.settings.host}:${this.settings.port}`);
      this.server = server;
      this.boundPort = port;
      this.settleBound.resolve(port);
      callback();
    } catch (err) {
      this.settleBound.reject(err);
      callback(err);
    }
  }

  /**
   * Runs the close hooks, stops accepting calls, waits up to the shutdown grace for running ones, then cancels
   * the rest; the port is free when it resolves. Idempotent.
   */
  override close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  /** The grpc-js server, once listening. */
  override unwrap<T>(): T {
    if (!this.server) throw new Error('the gRPC transport is not listening');
    return this.server as T;
  }

  private async shutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const grace = this.settings.shutdownGraceMs;
    await withinGrace(
      Promise.allSettled(this.closeHooks.map((hook) => Promise.resolve().then(hook))).then((results) => {
        for (const r of results) if (r.status === 'rejected') this.report(r.reason, 'a transport close hook failed');
      }),
      grace,
    );
    await shutdownWithin(server, grace);
  }

  private implementationOf(definition: grpc.ServiceDefinition, extraName?: string): grpc.UntypedServiceImplementation {
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const route of routesOf(definition)) {
      const found = this.handlerFor(route, extraName);
      if (found) implementation[route.key] = this.serve(route, found.handler as unknown as AnyHandler, found.streaming);
    }
    return implementation;
  }

  private handlerFor(route: GrpcMethodRoute, extraName?: string): FoundHandler | undefined {
    const candidates = candidatePatterns(route);
    if (extraName) candidates.push(...candidatePatterns({ ...route, service: extraName, qualifiedService: extraName }));
    for (const { pattern, streaming } of candidates) {
      const handler = this.messageHandlers.get(pattern);
      if (handler) return { handler, streaming };
    }
    const rx = grpcPattern(route.service, route.rpc, GrpcMethodStreamingType.RX_STREAMING);
    if (route.kind !== 'unary' && this.messageHandlers.has(rx)) {
      throw new Error(
        `${route.service}.${route.rpc} is declared with @GrpcStreamMethod, which this transport does not serve: ` +
          'use @GrpcStreamCall',
      );
    }
    return undefined;
  }

  private serve(
    route: GrpcMethodRoute,
    handler: AnyHandler,
    streaming: GrpcMethodStreamingType,
  ): grpc.UntypedHandleCall {
    if (route.kind === 'unary') {
      return (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
        this.answerOnce(route, invoke(handler, call.request, call.metadata, call), callback);
    }
    if (streaming === GrpcMethodStreamingType.NO_STREAMING) {
      return (call: grpc.ServerWritableStream<unknown, unknown>) =>
        this.writeAll(route, invoke(handler, call.request, call.metadata, call), call);
    }
    if (route.kind === 'clientStream') {
      return (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
        this.onlyFailures(route, invoke(handler, call, callback), (failure) => callback(failure));
    }
    return (call: ServedStreamCall) =>
      this.onlyFailures(route, invoke(handler, call), (failure) => endWith(call, failure));
  }

  /** Unary: the value (or an observable's first value) answers; any failure answers its status. */
  private answerOnce(route: GrpcMethodRoute, pending: Promise<unknown>, callback: grpc.sendUnaryData<unknown>): void {
    pending
      .then((result) => (isObservable(result) ? firstValueFrom(result) : result))
      .then(
        (value) => callback(null, value),
        (err: unknown) => callback(err instanceof EmptyError ? noAnswer(route) : this.failure(route, err)),
      );
  }

  /** Server streaming through `@GrpcMethod`: each value is written, then the call ends (or fails). */
  private writeAll(route: GrpcMethodRoute, pending: Promise<unknown>, call: ServedStreamCall): void {
    pending.then(
      (result) => {
        if (!isObservable(result)) {
          call.write(result);
          call.end();
          return;
        }
        const subscription = (result as Observable<unknown>).subscribe({
          next: (value) => call.write(value),
          error: (err: unknown) => endWith(call, this.failure(route, err)),
          complete: () => call.end(),
        });
        call.once('cancelled', () => subscription.unsubscribe());
      },
      (err: unknown) => endWith(call, this.failure(route, err)),
    );
  }

  /** A handler that owns its call: only a failure (thrown, rejected, or an erroring observable) is acted on. */
  private onlyFailures(
    route: GrpcMethodRoute,
    pending: Promise<unknown>,
    fail: (failure: GrpcFailureStatus) => void,
  ): void {
    pending.then(
      (result) => {
        if (isObservable(result)) result.subscribe({ error: (err: unknown) => fail(this.failure(route, err)) });
      },
      (err: unknown) => fail(this.failure(route, err)),
    );
  }

  private failure(route: GrpcMethodRoute, err: unknown): GrpcFailureStatus {
    const { code, details, unexpected } = toGrpcStatus(err);
    if (unexpected) this.report(err, `${route.service}.${route.rpc} failed: ${details}`);
    return { code, details };
  }

  private report(err: unknown, message: string): void {
    if (this.settings.logger) this.settings.logger.error({ err }, message);
    else this.logger.error(message, (err as Error)?.stack);
  }
}

/** Calls a Nest handler; a synchronous throw becomes a rejection. */
function invoke(handler: AnyHandler, ...args: unknown[]): Promise<unknown> {
  try {
    return Promise.resolve(handler(...args));
  } catch (err) {
    return Promise.reject(err);
  }
}

function noAnswer(route: GrpcMethodRoute): GrpcFailureStatus {
  return { code: grpc.status.INTERNAL, details: `${route.service}.${route.rpc} completed without an answer` };
}

/** Ends a served stream with a status, unless it is over already. */
function endWith(call: ServedStreamCall, failure: GrpcFailureStatus): void {
  if (call.cancelled || call.writableEnded) return;
  call.emit('error', failure);
}

/** Waits for `work`, but no longer than `ms`. */
function withinGrace(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
