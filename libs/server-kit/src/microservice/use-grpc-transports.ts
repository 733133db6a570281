import { INestApplication } from '@nestjs/common';
import { GrpcExceptionFilter } from './grpc-exception.filter';
import { GrpcJsTransport } from './grpc-js.transport';

/**
 * Connects each transport to the app as a Nest microservice that inherits the app's configuration (global
 * pipes, guards, interceptors), after registering {@link GrpcExceptionFilter} app-wide so that handler errors
 * reach the transport's status mapping. Call it once, before `app.startAllMicroservices()` (which binds the
 * ports) and before `app.listen()` / `app.init()`.
 */
export function useGrpcTransports(app: INestApplication, transports: readonly GrpcJsTransport[]): void {
  if (transports.length === 0) return;
  // Before connecting: Nest builds each handler's exception filters when the microservice is connected.
  app.useGlobalFilters(new GrpcExceptionFilter(app.getHttpAdapter()));
  for (const strategy of transports) app.connectMicroservice({ strategy }, { inheritAppConfig: true });
}
