/**
 * A linearizability checker in the style of Porcupine (Wing & Gong's search with Lowe's memoization): given a
 * concurrent history of operations with invocation and response times, decide whether some total order of
 * the operations (a) respects real time — an operation that returned before another was invoked comes first —
 * and (b) is a legal sequential execution of the model.
 *
 * Operations that never returned (timeouts) have `ret = Infinity`: they may have taken effect at any point
 * after their invocation, or never; the model must accept any output for them (`output` is ignored when the
 * model says so, see {@link Model.step}).
 */

/** One operation of a history. Times are any monotonic numbers (virtual milliseconds in the simulator). */
export interface Operation<I, O> {
  clientId: number;
  input: I;
  /** Invocation time. */
  call: number;
  output: O;
  /** Response time, or Infinity when the caller never learned the outcome. */
  ret: number;
}

/** A sequential specification. */
export interface Model<S, I, O> {
  /** The initial state. */
  init(): S;
  /**
   * Applies `input` to `state`. Returns whether `output` is a legal result (ignore `output` when it stands
   * for "unknown") and the next state. Must not modify `state`.
   */
  step(state: S, input: I, output: O): [boolean, S];
  /** A string identifying a state (equal states, equal keys). */
  key(state: S): string;
  /** Optional: split a history into independent sub-histories (e.g. by key) checked separately. */
  partition?(history: Operation<I, O>[]): Operation<I, O>[][];
  /** Optional: printable operation, for reports. */
  describe?(op: Operation<I, O>): string;
}

/** Outcome of a check. */
export type CheckResult =
  | { ok: true }
  | { ok: false; reason: 'illegal'; partition: number; longestPrefix: string[] }
  | { ok: false; reason: 'timeout' };

interface Node {
  id: number;
  isCall: boolean;
  time: number;
  /** For a call: its return node. */
  match: Node | null;
  prev: Node | null;
  next: Node | null;
}

/**
 * Checks a history against a model. `maxSteps` bounds the search per partition (exhaustive search is
 * exponential in the worst case); exceeding it returns `{ok: false, reason: 'timeout'}`, which callers must not
 * report as a violation.
 */
export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  history: Operation<I, O>[],
  maxSteps = 2_000_000,
): CheckResult {
  const parts = model.partition ? model.partition(history) : [history];
  for (let p = 0; p < parts.length; p++) {
    const r = checkPartition(model, parts[p], maxSteps);
    if (r === 'timeout') return { ok: false, reason: 'timeout' };
    if (r !== true) {
      const describe = model.describe ?? ((op: Operation<I, O>) => JSON.stringify(op));
      return { ok: false, reason: 'illegal', partition: p, longestPrefix: r.map((op) => describe(op)) };
    }
  }
  return { ok: true };
}

function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
  maxSteps: number,
): true | 'timeout' | Operation<I, O>[] {
  const n = ops.length;
  if (n === 0) return true;
  // Events sorted by time; at equal times calls come first (treat touching intervals as concurrent).
  const events: { time: number; isCall: boolean; id: number }[] = [];
  ops.forEach((op, id) => {
    events.push({ time: op.call, isCall: true, id });
    events.push({ time: op.ret, isCall: false, id });
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.id - b.id : a.isCall ? -1 : 1));
  const head: Node = { id: -1, isCall: false, time: -Infinity, match: null, prev: null, next: null };
  let tail = head;
  const returns = new Map<number, Node>();
  const calls: Node[] = [];
  for (const e of events) {
    const node: Node = { id: e.id, isCall: e.isCall, time: e.time, match: null, prev: tail, next: null };
    tail.next = node;
    tail = node;
    if (e.isCall) calls[e.id] = node;
    else returns.set(e.id, node);
  }
  for (let i = 0; i < n; i++) calls[i].match = returns.get(i) ?? null;

  // Every call and return has a predecessor (the list starts with `head`) and every call has its return.
  const unlink = (x: Node): void => {
    if (x.prev) x.prev.next = x.next;
    if (x.next) x.next.prev = x.prev;
  };
  const relink = (x: Node): void => {
    if (x.prev) x.prev.next = x;
    if (x.next) x.next.prev = x;
  };
  const lift = (c: Node): void => {
    // Remove the call and its return from the list.
    unlink(c);
    if (c.match) unlink(c.match);
  };
  const unlift = (c: Node): void => {
    if (c.match) relink(c.match);
    relink(c);
  };

  const words = Math.ceil(n / 32);
  const linearized = new Uint32Array(words);
  const cache = new Set<string>();
  const stack: { call: Node; state: S }[] = [];
  let state = model.init();
  let entry: Node | null = head.next;
  let steps = 0;
  let longest: number[] = [];

  while (head.next !== null) {
    if (++steps > maxSteps) return 'timeout';
    if (entry === null) {
      // Should not happen: a return always terminates the scan.
      return 'timeout';
    }
    if (entry.isCall) {
      const op = ops[entry.id];
      const [ok, next] = model.step(state, op.input, op.output);
      if (ok) {
        linearized[entry.id >>> 5] |= 1 << (entry.id & 31);
        const key = linearized.join(',') + '|' + model.key(next);
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ call: entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          if (stack.length > longest.length) longest = stack.map((s) => s.call.id);
          continue;
        }
        linearized[entry.id >>> 5] &= ~(1 << (entry.id & 31));
      }
      entry = entry.next;
    } else {
      // Reached a return whose call could not be linearized: backtrack.
      const top = stack.pop();
      if (!top) return [...longest.map((i) => ops[i]), ...pendingFirst(ops, longest)];
      state = top.state;
      linearized[top.call.id >>> 5] &= ~(1 << (top.call.id & 31));
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return true;
}

/** For reports: after the longest linearizable prefix, the earliest-returning operation left out. */
function pendingFirst<I, O>(ops: Operation<I, O>[], done: number[]): Operation<I, O>[] {
  const set = new Set(done);
  let best: Operation<I, O> | undefined;
  ops.forEach((op, i) => {
    if (!set.has(i) && (!best || op.ret < best.ret)) best = op;
  });
  return best ? [best] : [];
}
