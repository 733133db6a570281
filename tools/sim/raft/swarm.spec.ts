import { SeededRandom } from '../kernel';
import { type SwarmConfig, drawSwarm } from './swarm';

describe('drawSwarm', () => {
  const configs: SwarmConfig[] = [];
  for (let seed = 1; seed <= 300; seed++) configs.push(drawSwarm(new SeededRandom(seed)));

  it.each([
    ['message loss', (c: SwarmConfig) => c.dropRate > 0],
    ['duplication', (c: SwarmConfig) => c.dupRate > 0],
    ['crashes', (c: SwarmConfig) => c.crashEveryMs > 0],
    ['partitions', (c: SwarmConfig) => c.partitionEveryMs > 0],
    ['power loss during fsync', (c: SwarmConfig) => c.crashInFsync > 0],
    ['leader hits', (c: SwarmConfig) => c.leaderHitRate > 0],
    ['snapshots', (c: SwarmConfig) => c.snapEvery > 0],
    ['membership changes', (c: SwarmConfig) => c.membership],
    ['one entry per append', (c: SwarmConfig) => c.maxMsgSize === 1],
  ])('switches %s on in some seeds and off in others', (_what, on) => {
    const n = configs.filter(on).length;
    expect(n).toBeGreaterThan(configs.length / 10);
    expect(n).toBeLessThan(configs.length - configs.length / 10);
  });

  it('is a function of the seed', () => {
    expect(drawSwarm(new SeededRandom(42))).toEqual(drawSwarm(new SeededRandom(42)));
  });
});
