import type * as grpc from '@grpc/grpc-js';
import { GrpcMethodStreamingType } from '@nestjs/microservices';

/** How a gRPC method streams: decides which handler kind serves it and with which arguments. */
export type GrpcCallKind = 'unary' | 'serverStream' | 'clientStream' | 'bidi';

/** One method of a service definition, with the names Nest's gRPC decorators use for it. */
export interface GrpcMethodRoute {
  /** The key of the method in the definition object (ts-proto uses lowerCamelCase: `getData`). */
  key: string;
  /** The service's short name from the path (`DataService`), as in `@GrpcMethod('DataService', ...)`. */
  service: string;
  /** The package-qualified service name from the path (`sofareg.v1.DataService`); Nest accepts it too. */
  qualifiedService: string;
  /** The method's name as the .proto spells it (`GetData`), as in `@GrpcMethod(..., 'GetData')`. */
  rpc: string;
  kind: GrpcCallKind;
}

/**
 * The methods of a grpc-js service definition, named from each method's `path` (`/package.Service/Method`).
 * @throws Error for a method whose path is not of that form (not a generated definition).
 */
export function routesOf(definition: grpc.ServiceDefinition): GrpcMethodRoute[] {
  return Object.entries(definition).map(([key, method]) => {
    const match = /^\/(([^/]*\.)?([^./]+))\/([^/]+)$/.exec(method.path);
    if (!match) throw new Error(`method ${key} has path ${JSON.stringify(method.path)}, not /package.Service/Method`);
    return { key, qualifiedService: match[1], service: match[3], rpc: match[4], kind: kindOf(method) };
  });
}

function kindOf(method: grpc.MethodDefinition<unknown, unknown>): GrpcCallKind {
  if (method.requestStream) return method.responseStream ? 'bidi' : 'clientStream';
  return method.responseStream ? 'serverStream' : 'unary';
}

/**
 * The key under which Nest registers a handler decorated with `@GrpcMethod(service, rpc)` (streaming
 * `NO_STREAMING`), `@GrpcStreamMethod` (`RX_STREAMING`) or `@GrpcStreamCall` (`PT_STREAMING`): the JSON of
 * `{ service, rpc, streaming }` in that key order, exactly as Nest's `ServerGrpc.createPattern` builds it.
 */
export function grpcPattern(service: string, rpc: string, streaming: GrpcMethodStreamingType): string {
  return JSON.stringify({ service, rpc, streaming });
}

/**
 * The handler patterns that may serve a route, in order of preference, each under both service names.
 * Unary methods take `@GrpcMethod`; request-streaming methods take `@GrpcStreamCall` (the raw call);
 * server-streaming methods take `@GrpcStreamCall` (the raw call) or `@GrpcMethod` (values written for it).
 */
export function candidatePatterns(route: GrpcMethodRoute): { pattern: string; streaming: GrpcMethodStreamingType }[] {
  const kinds: GrpcMethodStreamingType[] =
    route.kind === 'unary'
      ? [GrpcMethodStreamingType.NO_STREAMING]
      : route.kind === 'serverStream'
        ? [GrpcMethodStreamingType.PT_STREAMING, GrpcMethodStreamingType.NO_STREAMING]
        : [GrpcMethodStreamingType.PT_STREAMING];
  const names = route.service === route.qualifiedService ? [route.service] : [route.service, route.qualifiedService];
  return kinds.flatMap((streaming) =>
    names.map((name) => ({ pattern: grpcPattern(name, route.rpc, streaming), streaming })),
  );
}
