import { Model, Operation } from './linearizability';

/** A client operation on the replicated key-value store. */
export type KvInput =
  | { op: 'put'; key: string; value: string }
  | { op: 'get'; key: string }
  | { op: 'cas'; key: string; expect: string | null; value: string };

/** What the client saw. `unknown`: the client never learned the outcome (timeout); any effect is allowed. */
export interface KvOutput {
  unknown?: boolean;
  /** get: the value read (null when absent). */
  value?: string | null;
  /** cas: whether it swapped. */
  ok?: boolean;
}

type KvState = Readonly<Record<string, string>>;

/** Sequential specification of the store: put overwrites, get reads, cas swaps iff the value equals `expect`. */
export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => ({}),
  step(state, input, output) {
    const cur = Object.prototype.hasOwnProperty.call(state, input.key) ? state[input.key] : null;
    switch (input.op) {
      case 'put':
        return [true, { ...state, [input.key]: input.value }];
      case 'get':
        return [output.unknown === true || output.value === cur, state];
      case 'cas': {
        const swap = cur === input.expect;
        const next = swap ? { ...state, [input.key]: input.value } : state;
        return [output.unknown === true || output.ok === swap, next];
      }
    }
  },
  key: (s) =>
    JSON.stringify(
      Object.keys(s)
        .sort()
        .map((k) => [k, s[k]]),
    ),
  partition(history) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of history) {
      const list = byKey.get(op.input.key) ?? [];
      list.push(op);
      byKey.set(op.input.key, list);
    }
    return [...byKey.keys()].sort().map((k) => byKey.get(k) ?? []);
  },
  describe(op) {
    const i = op.input;
    const o = op.output;
    const out = o.unknown ? '?' : i.op === 'get' ? String(o.value) : i.op === 'cas' ? String(o.ok) : 'ok';
    const args =
      i.op === 'put' ? `${i.key}=${i.value}` : i.op === 'get' ? i.key : `${i.key} ${String(i.expect)}→${i.value}`;
    return `c${op.clientId} ${i.op}(${args}) -> ${out} [${op.call}, ${op.ret === Infinity ? '∞' : op.ret}]`;
  },
};
