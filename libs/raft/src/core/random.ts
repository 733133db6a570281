/**
 * A seeded source of randomness. The core never calls `Math.random`: the election timeout jitter comes from
 * the source passed in {@link RaftConfig.random}. `SeededRandom` of `@sofareg/model` (re-exported here) is the
 * one seeded implementation of the workspace.
 */
export interface RandomSource {
  /** A number in [0, 1). */
  next(): number;
}

export { SeededRandom } from '@sofareg/model';
