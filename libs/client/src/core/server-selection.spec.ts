import { seededRandom } from '../testing/manual-clock';
import { isHostPort, parseServerList, parseWeightedServerList, pickLessLoaded, RoundRobin } from './server-selection';

describe('server selection', () => {
  it('recognizes host:port', () => {
    for (const ok of ['127.0.0.1:9600', 'session-1.example:9600', '[::1]:9600', 'a:1', 'h:65535'])
      expect(isHostPort(ok)).toBe(true);
    for (const bad of ['', '127.0.0.1', ':9600', 'h:0', 'h:65536', 'http://h:1', 'h :1', 'h:1/x'])
      expect(isHostPort(bad)).toBe(false);
  });

  it('parses the plain list as lines, commas or JSON, skipping junk and duplicates', () => {
    expect(parseServerList('10.0.0.1:9600\n10.0.0.2:9600\r\n\n')).toEqual(['10.0.0.1:9600', '10.0.0.2:9600']);
    expect(parseServerList('a:1, b:2;a:1 junk')).toEqual(['a:1', 'b:2']);
    expect(parseServerList('["a:1","b:2",3,"bad"]')).toEqual(['a:1', 'b:2']);
    expect(parseServerList('[not json')).toEqual([]);
  });

  it('parses the weighted list and refuses what is not such JSON', () => {
    expect(
      parseWeightedServerList('[{"address":"a:1","weight":3},{"address":"b:2","connections":1},{"address":"c:3"}]'),
    ).toEqual([{ address: 'a:1', weight: 3 }, { address: 'b:2', weight: 1 }, { address: 'c:3' }]);
    expect(parseWeightedServerList('a:1\nb:2')).toBeUndefined();
    expect(parseWeightedServerList('{"address":"a:1"}')).toBeUndefined();
    expect(parseWeightedServerList('[{"address":"nope"},null,1]')).toEqual([]);
  });

  it('picks the less loaded of two distinct random candidates', () => {
    const list = [
      { address: 'a:1', weight: 10 },
      { address: 'b:1', weight: 1 },
    ];
    // Two candidates: whichever order they are drawn in, the lighter one wins.
    for (const r of [0, 0.3, 0.6, 0.99]) expect(pickLessLoaded(list, () => r)?.address).toBe('b:1');
    expect(pickLessLoaded([], () => 0)).toBeUndefined();
    expect(pickLessLoaded([{ address: 'x:1' }], () => 0)?.address).toBe('x:1');
  });

  it('never picks the heaviest of three or more, and avoids the server that just failed', () => {
    const seed = Number(process.env.SEED ?? 42);
    console.log(`pickLessLoaded seed=${seed}`);
    const random = seededRandom(seed);
    const list = [0, 1, 2, 3, 4].map((i) => ({ address: `s${i}:1`, weight: i * 10 }));
    const counts = new Map<string, number>();
    for (let i = 0; i < 5_000; i++) {
      const a = pickLessLoaded(list, random, 's0:1')?.address as string;
      counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    expect(counts.has('s4:1')).toBe(false);
    expect(counts.has('s0:1')).toBe(false);
    // Power of two choices over s1..s4: s1 wins 3/6 of pairs, s2 2/6, s3 1/6.
    expect((counts.get('s1:1') ?? 0) / 5_000).toBeCloseTo(0.5, 1);
    expect(pickLessLoaded([{ address: 'only:1' }], random, 'only:1')?.address).toBe('only:1');
  });

  it('walks a static list round-robin from a random start', () => {
    const rr = new RoundRobin(['a:1', 'b:1', 'c:1'], () => 0.5);
    expect([rr.next(), rr.next(), rr.next(), rr.next()]).toEqual(['b:1', 'c:1', 'a:1', 'b:1']);
    expect(() => new RoundRobin([], () => 0)).toThrow();
  });
});
