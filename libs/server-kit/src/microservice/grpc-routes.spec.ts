import { GrpcMethodStreamingType, createGrpcMethodMetadata } from '@nestjs/microservices';
import { DataServiceService } from '@sofareg/contracts';
import { candidatePatterns, grpcPattern, routesOf } from './grpc-routes';

describe('routesOf', () => {
  it('names each method of a generated definition as the .proto does, with its call kind', () => {
    const routes = routesOf(DataServiceService);
    expect(routes.find((r) => r.key === 'getData')).toEqual({
      key: 'getData',
      service: 'DataService',
      qualifiedService: 'sofareg.v1.DataService',
      rpc: 'GetData',
      kind: 'unary',
    });
    expect(routes.find((r) => r.key === 'write')?.kind).toBe('bidi');
  });

  it('refuses a definition whose paths are not /package.Service/Method', () => {
    const flat = { m: { ...DataServiceService.getData, path: 'GetData' } };
    expect(() => routesOf(flat)).toThrow(/not \/package.Service\/Method/);
  });
});

describe('grpcPattern', () => {
  it('is the key Nest registers a @GrpcMethod / @GrpcStreamCall handler under', () => {
    for (const streaming of Object.values(GrpcMethodStreamingType)) {
      const metadata = createGrpcMethodMetadata({}, 'getData', 'DataService', 'GetData', streaming);
      expect(grpcPattern('DataService', 'GetData', streaming)).toBe(JSON.stringify(metadata));
    }
  });

  it('lets a server-streaming method be served by @GrpcStreamCall first, then @GrpcMethod, under both names', () => {
    const [route] = routesOf({ watch: { ...DataServiceService.getData, path: '/p.S/Watch', responseStream: true } });
    expect(candidatePatterns(route).map((c) => `${JSON.parse(c.pattern).service} ${c.streaming}`)).toEqual([
      'S pt_stream',
      'p.S pt_stream',
      'S no_stream',
      'p.S no_stream',
    ]);
  });
});
