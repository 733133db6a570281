import { SeededRandom } from '../kernel';
import { KvInput, KvOutput, kvModel } from './kv-model';
import { Model, Operation, checkLinearizable } from './linearizability';

type Op = Operation<KvInput, KvOutput>;
const put = (c: number, key: string, value: string, call: number, ret: number): Op => ({
  clientId: c,
  input: { op: 'put', key, value },
  output: {},
  call,
  ret,
});
const get = (c: number, key: string, value: string | null, call: number, ret: number): Op => ({
  clientId: c,
  input: { op: 'get', key },
  output: { value },
  call,
  ret,
});
const cas = (
  c: number,
  key: string,
  expect: string | null,
  value: string,
  ok: boolean,
  call: number,
  ret: number,
): Op => ({
  clientId: c,
  input: { op: 'cas', key, expect, value },
  output: { ok },
  call,
  ret,
});
const lost = (op: Op): Op => ({ ...op, output: { unknown: true }, ret: Infinity });

describe('linearizability checker', () => {
  it('accepts the empty history and a sequential one', () => {
    expect(checkLinearizable(kvModel, []).ok).toBe(true);
    expect(
      checkLinearizable(kvModel, [
        put(0, 'x', '1', 0, 1),
        get(0, 'x', '1', 2, 3),
        cas(0, 'x', '1', '2', true, 4, 5),
        get(0, 'x', '2', 6, 7),
      ]).ok,
    ).toBe(true);
  });

  it('rejects a stale read after a completed write', () => {
    const r = checkLinearizable(kvModel, [put(0, 'x', '1', 0, 10), get(1, 'x', null, 11, 12)]);
    expect(r.ok).toBe(false);
    if (!r.ok && r.reason === 'illegal') expect(r.longestPrefix.length).toBeGreaterThan(0);
  });

  it('accepts either value for a read concurrent with a write', () => {
    expect(checkLinearizable(kvModel, [put(0, 'x', '1', 0, 10), get(1, 'x', null, 5, 6)]).ok).toBe(true);
    expect(checkLinearizable(kvModel, [put(0, 'x', '1', 0, 10), get(1, 'x', '1', 5, 6)]).ok).toBe(true);
  });

  it('rejects reads that go back in time (new value seen, then the old one)', () => {
    const h = [put(0, 'x', '1', 0, 1), put(1, 'x', '2', 2, 20), get(2, 'x', '2', 3, 4), get(3, 'x', '1', 5, 6)];
    expect(checkLinearizable(kvModel, h).ok).toBe(false);
  });

  it('rejects two successful compare-and-swaps from the same expected value', () => {
    const h = [put(0, 'x', 'a', 0, 1), cas(1, 'x', 'a', 'b', true, 2, 10), cas(2, 'x', 'a', 'c', true, 3, 11)];
    expect(checkLinearizable(kvModel, h).ok).toBe(false);
    // One of them failing is fine.
    const h2 = [put(0, 'x', 'a', 0, 1), cas(1, 'x', 'a', 'b', true, 2, 10), cas(2, 'x', 'a', 'c', false, 3, 11)];
    expect(checkLinearizable(kvModel, h2).ok).toBe(true);
  });

  it('rejects a read of a value never written', () => {
    expect(checkLinearizable(kvModel, [put(0, 'x', '1', 0, 1), get(1, 'x', '7', 2, 3)]).ok).toBe(false);
  });

  it('rejects a lost acknowledged write (read misses a write acknowledged before it started)', () => {
    const h = [put(0, 'x', '1', 0, 1), put(0, 'x', '2', 2, 3), get(1, 'x', '1', 4, 5)];
    expect(checkLinearizable(kvModel, h).ok).toBe(false);
  });

  it('lets a timed-out write take effect or not, but only after its invocation', () => {
    expect(checkLinearizable(kvModel, [lost(put(0, 'x', '1', 0, 0)), get(1, 'x', '1', 5, 6)]).ok).toBe(true);
    expect(checkLinearizable(kvModel, [lost(put(0, 'x', '1', 0, 0)), get(1, 'x', null, 5, 6)]).ok).toBe(true);
    expect(checkLinearizable(kvModel, [get(1, 'x', '1', 0, 1), lost(put(0, 'x', '1', 5, 0))]).ok).toBe(false);
    // Once seen, a timed-out write cannot be un-seen.
    expect(
      checkLinearizable(kvModel, [lost(put(0, 'x', '1', 0, 0)), get(1, 'x', '1', 5, 6), get(1, 'x', null, 7, 8)]).ok,
    ).toBe(false);
  });

  it('checks keys independently', () => {
    const h = [put(0, 'x', '1', 0, 1), put(0, 'y', '2', 2, 3), get(1, 'x', '1', 4, 5), get(1, 'y', null, 6, 7)];
    const r = checkLinearizable(kvModel, h);
    expect(r.ok).toBe(false);
    if (!r.ok && r.reason === 'illegal') expect(r.partition).toBe(1);
  });

  const SEED = Number(process.env.LIN_SEED ?? 424242);
  it(`accepts 2,000 random histories produced by an atomic register with random latencies (seed ${SEED})`, () => {
    const rnd = new SeededRandom(SEED);
    for (let iter = 0; iter < 2000; iter++) {
      const h = randomLinearizableHistory(rnd, 3 + rnd.below(4), 10 + rnd.below(20));
      const r = checkLinearizable(kvModel, h);
      if (!r.ok)
        throw new Error(`seed ${SEED} iter ${iter}: a linearizable history was rejected: ${JSON.stringify(r)}`);
    }
  });

  it(`rejects corrupted histories that a brute-force search also rejects (seed ${SEED})`, () => {
    const rnd = new SeededRandom(SEED + 1);
    let rejected = 0;
    for (let iter = 0; iter < 500; iter++) {
      const h = randomLinearizableHistory(rnd, 2 + rnd.below(2), 3 + rnd.below(4));
      // Corrupt one read.
      const reads = h.filter((o) => o.input.op === 'get');
      if (reads.length === 0) continue;
      const victim = rnd.pick(reads);
      victim.output = { value: rnd.chance(0.5) ? null : `v${rnd.below(6)}` };
      const want = bruteForce(kvModel, h);
      const got = checkLinearizable(kvModel, h).ok;
      if (got !== want)
        throw new Error(`seed ${SEED} iter ${iter}: checker says ${got}, brute force ${want}: ${JSON.stringify(h)}`);
      if (!want) rejected++;
    }
    expect(rejected).toBeGreaterThan(50);
  });
});

/** Runs clients against an atomic register: each op takes effect at one instant inside its interval. */
function randomLinearizableHistory(rnd: SeededRandom, clients: number, opsTotal: number): Op[] {
  const state = new Map<string, string>();
  const keys = ['x', 'y'];
  const free = new Array<number>(clients).fill(0);
  const out: Op[] = [];
  let n = 0;
  // Generate effect instants in increasing order; each op gets a random interval around its instant.
  let t = 0;
  while (n < opsTotal) {
    t += 1 + rnd.below(3);
    const c = rnd.below(clients);
    if (free[c] > t) continue;
    const key = rnd.pick(keys);
    const call = Math.max(free[c], t - rnd.below(6));
    const ret = t + rnd.below(6);
    const cur = state.get(key) ?? null;
    const r = rnd.below(10);
    let op: Op;
    if (r < 4) {
      const value = `v${n}`;
      state.set(key, value);
      op = put(c, key, value, call, ret);
    } else if (r < 7) {
      op = get(c, key, cur, call, ret);
    } else {
      const expect = rnd.chance(0.5) ? cur : `v${rnd.below(n + 1)}`;
      const value = `v${n}`;
      const ok = cur === expect;
      if (ok) state.set(key, value);
      op = cas(c, key, expect, value, ok, call, ret);
    }
    if (rnd.chance(0.1) && op.input.op !== 'get') op = { ...op, output: { unknown: true }, ret: Infinity };
    free[c] = op.ret === Infinity ? Infinity : ret + 1;
    out.push(op);
    n++;
    if (free.every((f) => f === Infinity)) break;
  }
  return out;
}

/** Tries every permutation consistent with real time (small histories only). */
function bruteForce<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[]): boolean {
  const used = new Array<boolean>(ops.length).fill(false);
  const rec = (state: S, count: number): boolean => {
    if (count === ops.length) return true;
    for (let i = 0; i < ops.length; i++) {
      if (used[i]) continue;
      // i may go next only if no unused op returned before i was called.
      if (ops.some((o, j) => !used[j] && j !== i && o.ret < ops[i].call)) continue;
      const [ok, next] = model.step(state, ops[i].input, ops[i].output);
      if (!ok) continue;
      used[i] = true;
      if (rec(next, count + 1)) return true;
      used[i] = false;
    }
    // Unknown-outcome ops may never take effect: allow finishing if all remaining are unknown... handled by
    // the model accepting them at the end.
    return false;
  };
  return rec(model.init(), 0);
}
