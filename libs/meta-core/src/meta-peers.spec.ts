import { formatMetaPeers, parseMetaPeers } from './meta-peers';

describe('parseMetaPeers', () => {
  it('derives the gRPC and HTTP addresses from the Raft port by default (9612 -> 9610, 9615)', () => {
    const p = parseMetaPeers('m1=10.0.0.1:9612, m2=10.0.0.2:9612');
    expect(p.m1).toEqual({ id: 'm1', raft: '10.0.0.1:9612', grpc: '10.0.0.1:9610', http: '10.0.0.1:9615' });
    expect(p.m2.grpc).toBe('10.0.0.2:9610');
  });

  it('takes explicit ports or whole addresses for gRPC and HTTP', () => {
    const p = parseMetaPeers('a=127.0.0.1:7012/7010/7015,b=127.0.0.1:7022/10.1.1.1:7020');
    expect(p.a).toEqual({ id: 'a', raft: '127.0.0.1:7012', grpc: '127.0.0.1:7010', http: '127.0.0.1:7015' });
    expect(p.b).toEqual({ id: 'b', raft: '127.0.0.1:7022', grpc: '10.1.1.1:7020', http: '127.0.0.1:7025' });
    expect(parseMetaPeers(formatMetaPeers(p))).toEqual(p);
  });

  it.each([
    ['', 'no node given'],
    ['m1', 'is not id=host:raftPort'],
    ['m1=host', "'host' is not host:port"],
    ['m1=h:1/2/3/4', 'more than raft/grpc/http'],
    ['m1=h:9612/x', "'x' is not a port"],
    ['m1=h:9612,m1=g:9612', "'m1' appears twice"],
    ['m1=h:9612,m2=h:9612', 'h:9612 appears twice'],
    ['m1=h:1', 'cannot derive the gRPC port'],
  ])('refuses %j naming the problem', (spec, message) => {
    expect(() => parseMetaPeers(spec)).toThrow(message);
    try {
      parseMetaPeers(spec);
    } catch (e) {
      expect(e).toMatchObject({ code: 'InvalidArgument', field: 'peers' });
    }
  });
});
