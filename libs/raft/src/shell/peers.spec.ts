import { formatPeers, parsePeers } from './peers';
import { decodeSnapshotEnvelope, encodeSnapshotEnvelope } from './snapshot-envelope';

describe('parsePeers', () => {
  it('parses id=host:port lists, with spaces and bare addresses', () => {
    expect(parsePeers(' m1=127.0.0.1:9612, m2=meta-2.local:9612,127.0.0.1:7000 ')).toEqual({
      m1: '127.0.0.1:9612',
      m2: 'meta-2.local:9612',
      '127.0.0.1:7000': '127.0.0.1:7000',
    });
    expect(parsePeers('')).toEqual({});
    expect(formatPeers(parsePeers('b=h:2,a=h:1'))).toBe('a=h:1,b=h:2');
  });

  it.each([
    ['m1=127.0.0.1', 'not host:port'],
    ['m1=127.0.0.1:0', 'not host:port'],
    ['m1=127.0.0.1:70000', 'not host:port'],
    ['=127.0.0.1:1', 'empty node id'],
    ['a=h:1,a=h:2', "'a' appears twice"],
    ['a=h:1,b=h:1', 'h:1 appears twice'],
  ])('rejects %s (%s)', (spec, why) => {
    expect(() => parsePeers(spec)).toThrow(why);
  });
});

describe('snapshot envelope', () => {
  it('round-trips the address book and the state machine bytes', () => {
    const data = new Uint8Array([1, 2, 3, 250]);
    const env = decodeSnapshotEnvelope(encodeSnapshotEnvelope({ addresses: { a: 'h:1', b: 'h:2' }, data }));
    expect(env.addresses).toEqual({ a: 'h:1', b: 'h:2' });
    expect([...env.data]).toEqual([1, 2, 3, 250]);
  });

  it('reads the empty snapshot of a new node, and refuses foreign bytes', () => {
    expect(decodeSnapshotEnvelope(new Uint8Array(0))).toEqual({ addresses: {}, data: new Uint8Array(0) });
    expect(() => decodeSnapshotEnvelope(new TextEncoder().encode('{"json":true}'))).toThrow('wrong magic number');
  });
});
