/**
 * Seeded randomness for this lib's property tests (the lib itself takes no randomness). Every
 * randomized test prints its seed; replay with `CH_SEED=<seed> npx jest -c libs/consistent-hash/jest.config.js`.
 */

/** A small, fast, seeded PRNG (mulberry32): `next()` is uniform in [0, 1). */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  shuffle<T>(items: readonly T[]): T[] {
    const a = [...items];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

/** The seed of one test: `CH_SEED` from the environment, else `fallback`; printed either way. */
export function seedFor(test: string, fallback: number): number {
  const env = process.env['CH_SEED'];
  const seed = env !== undefined && env !== '' ? Number(env) >>> 0 : fallback >>> 0;
  process.stdout.write(`[consistent-hash] ${test}: seed ${seed} (replay with CH_SEED=${seed})\n`);
  return seed;
}
