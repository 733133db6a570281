import 'reflect-metadata';
import { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import { PinoNestLogger, createLogger } from './logger';

/** How to start one role's NestJS application. */
export interface RunRoleOptions {
  module: DynamicModule | Type<unknown>;
  logger: Logger;
  host: string;
  httpPort: number;
}

/**
 * Creates the role's Nest application, serves its HTTP admin on host:httpPort, and shuts down gracefully on
 * SIGTERM/SIGINT (Nest runs every provider's shutdown hook: gRPC servers drain, heartbeats stop, meta is told).
 */
export async function runRole(opts: RunRoleOptions): Promise<INestApplication> {
  process.on('unhandledRejection', (err) => opts.logger.error({ err }, 'unhandled rejection'));
  const app = await NestFactory.create(opts.module, { logger: new PinoNestLogger(opts.logger), abortOnError: false });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
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
 * A role's whole entry point: parse the configuration (flags, environment), create the logger, start the
 * Nest application; on any boot failure log it and exit 1.
 */
export async function launchRole<C extends { advertiseHost: string; port: number; host: string; httpPort: number; logLevel: string }>(
  role: string,
  parse: () => Readonly<C>,
  module: (config: Readonly<C>, logger: Logger) => DynamicModule,
): Promise<INestApplication | undefined> {
  let logger: Logger | undefined;
  try {
    const config = parse();
    logger = createLogger(role, `${config.advertiseHost}:${config.port}`, config.logLevel);
    return await runRole({ module: module(config, logger), logger, host: config.host, httpPort: config.httpPort });
  } catch (err) {
    exitOnBootFailure(logger, err);
  }
}
