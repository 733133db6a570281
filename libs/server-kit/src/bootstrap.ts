import 'reflect-metadata';
import { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import { PinoNestLogger, createLogger } from './logger';
import { GrpcJsTransport } from './microservice/grpc-js.transport';
import { useGrpcTransports } from './microservice/use-grpc-transports';

/** How to start one role's NestJS application. */
export interface RunRoleOptions {
  module: DynamicModule | Type<unknown>;
  logger: Logger;
  host: string;
  httpPort: number;
  /** gRPC transports served beside the HTTP admin; their ports are bound before the app initializes. */
  transports?: readonly GrpcJsTransport[];
}

/**
 * Creates the role's Nest application, starts its gRPC transports (ports bound, so providers may read them with
 * `transport.port` from `onModuleInit`/`onApplicationBootstrap` on, and readiness is never reported before),
 * then initializes the app and serves its HTTP admin on host:httpPort. Shuts down gracefully on SIGTERM/SIGINT,
 * in Nest's order: `onModuleDestroy` and `beforeApplicationShutdown` hooks, then the transports close (their close
 * hooks first, then a bounded drain), then `onApplicationShutdown` hooks (heartbeats stop, meta is told). So what
 * RPC handlers need must stop in `onApplicationShutdown`, not earlier. RPCs may arrive before
 * `onApplicationBootstrap` has run: handlers answer NotReady until their service is.
 */
export async function runRole(opts: RunRoleOptions): Promise<INestApplication> {
  process.on('unhandledRejection', (err) => opts.logger.error({ err }, 'unhandled rejection'));
  const app = await NestFactory.create(opts.module, { logger: new PinoNestLogger(opts.logger), abortOnError: false });
  // Ends with process.exit(0) rather than re-raising the signal: pino writes asynchronously and flushes on
  // 'exit', which a re-raised signal never emits, so the last lines of a shutdown were sometimes lost.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  if (opts.transports?.length) {
    useGrpcTransports(app, opts.transports);
    await app.startAllMicroservices();
  }
  await app.listen(opts.httpPort, opts.host);
  return app;
}

/** Logs a boot failure with its cause and exits non-zero, so supervisors see it. */
export function exitOnBootFailure(logger: Logger | undefined, err: unknown): never {
  if (logger) logger.fatal({ err }, `failed to start: ${(err as Error).message}`);
  else console.error(`failed to start: ${(err as Error).message}`);
  process.exit(1);
}

/**
 * A role's whole entry point: parse the configuration (flags, environment), create the logger and the role's
 * gRPC transports (`transports`, given the config; none by default), build the module (which may provide
 * those transports to its services) and start the Nest application; on any boot failure log it and exit 1.
 */
export async function launchRole<
  C extends { advertiseHost: string; port: number; host: string; httpPort: number; logLevel: string },
>(
  role: string,
  parse: () => Readonly<C>,
  module: (config: Readonly<C>, logger: Logger, transports: readonly GrpcJsTransport[]) => DynamicModule,
  transports: (config: Readonly<C>, logger: Logger) => readonly GrpcJsTransport[] = () => [],
): Promise<INestApplication | undefined> {
  let logger: Logger | undefined;
  try {
    const config = parse();
    logger = createLogger(role, `${config.advertiseHost}:${config.port}`, config.logLevel);
    const served = transports(config, logger);
    return await runRole({
      module: module(config, logger, served),
      logger,
      host: config.host,
      httpPort: config.httpPort,
      transports: served,
    });
  } catch (err) {
    exitOnBootFailure(logger, err);
  }
}
