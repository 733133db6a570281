import { parseMetaConfig } from './meta-config';

const argv = (...args: string[]) => ['node', 'meta', ...args];

describe('parseMetaConfig', () => {
  it('without --peers, makes a one-member group of this node', () => {
    const c = parseMetaConfig(
      argv('--node-id', 'solo', '--port', '7010', '--http-port', '7015', '--raft-port', '7012'),
      {},
    );
    expect(c.metaPeers).toEqual({
      solo: { id: 'solo', raft: '127.0.0.1:7012', grpc: '127.0.0.1:7010', http: '127.0.0.1:7015' },
    });
    expect(c.raftPort).toBe(7012);
  });

  it('with --peers, listens for Raft on its own entry and knows every member', () => {
    const peers = 'm1=10.0.0.1:9612,m2=10.0.0.2:9612,m3=10.0.0.3:9612';
    const c = parseMetaConfig(argv('--node-id', 'm2', '--peers', peers), {});
    expect(Object.keys(c.metaPeers)).toEqual(['m1', 'm2', 'm3']);
    expect(c.metaPeers.m3.grpc).toBe('10.0.0.3:9610');
    expect(c.raftPort).toBe(9612);
    expect(parseMetaConfig(argv(), { SOFAREG_NODE_ID: 'm1', SOFAREG_PEERS: peers }).metaPeers.m1.http).toBe(
      '10.0.0.1:9615',
    );
  });

  it('refuses peers that do not list this node, or disagree with its ports', () => {
    expect(() => parseMetaConfig(argv('--node-id', 'm9', '--peers', 'm1=h:9612'), {})).toThrow(
      "--peers must list this node 'm9'",
    );
    expect(() => parseMetaConfig(argv('--node-id', 'm1', '--port', '7010', '--peers', 'm1=h:9612'), {})).toThrow(
      'make them agree',
    );
    expect(() => parseMetaConfig(argv('--peers', 'meta-1=h'), {})).toThrow('is not host:port');
  });
});
