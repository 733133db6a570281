import { ArgumentsHost, Catch } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { Observable, throwError } from 'rxjs';

/**
 * Lets errors thrown by gRPC handlers reach {@link GrpcJsTransport} unchanged, so that it maps them to a gRPC
 * status in one place (`toGrpcStatus`). Nest's default RPC filter would replace every error that is not an
 * `RpcException` by `Internal server error`, losing its gRPC `code` and its field. In the HTTP context it is
 * Nest's default filter. Registered app-wide by {@link useGrpcTransports} (the transports inherit the app's
 * configuration); construct it with `app.getHttpAdapter()` when registering it by hand.
 */
@Catch()
export class GrpcExceptionFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    if (host.getType() === 'rpc') return throwError(() => exception);
    return super.catch(exception, host);
  }
}
