import { LeaderDuties, MetaClientCore } from '@sofareg/meta-core';
import { runMetaSimulation } from './meta-simulation';

/** How many seeds the simulation gets to find a planted bug (each is found within the first 100 today). */
const MAX_SEEDS = 200;

/** The first of seeds 1..MAX_SEEDS whose run reports a violation, with what it reported. */
function firstViolation(): { seed: number; violations: string[] } | undefined {
  for (let seed = 1; seed <= MAX_SEEDS; seed++) {
    const r = runMetaSimulation({ seed });
    if (r.violations.length > 0) return { seed, violations: r.violations };
  }
  return undefined;
}

/** Runs `body` with `proto[key]` replaced by `make(original)`, and puts the original back. */
function withPlanted<T extends object, K extends keyof T>(
  proto: T,
  key: K,
  make: (original: T[K]) => T[K],
  body: () => void,
): void {
  const original = proto[key];
  proto[key] = make(original);
  try {
    body();
  } finally {
    proto[key] = original;
  }
}

describe('the meta simulation finds a bug planted in the real cores', () => {
  it('finds a MetaClient that ignores NotLeader (neither follows the named leader nor moves on)', () => {
    withPlanted(
      MetaClientCore.prototype,
      'heartbeatAnswered',
      (original) =>
        function (this: MetaClientCore, address, attempt, res) {
          if (!res.ok && res.error?.code === 'NotLeader') return [];
          return original.call(this, address, attempt, res);
        },
      () =>
        withPlanted(
          MetaClientCore.prototype,
          'watchEvent',
          (original) =>
            function (this: MetaClientCore, watch, ev) {
              if (ev.event?.$case === 'error' && ev.event.value.code === 'NotLeader') return [];
              return original.call(this, watch, ev);
            },
          () => {
            const found = firstViolation();
            expect(found).toBeDefined();
            expect(found?.violations.join('\n')).toMatch(/after the calm: registered .* but live/);
          },
        ),
    );
    expect(firstViolationFree(3)).toBe(true);
  });

  it('finds a meta leader that proposes slot tables without their compare-and-set guard', () => {
    withPlanted(
      LeaderDuties.prototype,
      'tick',
      (original) =>
        function (this: LeaderDuties, state, nowMs) {
          return original
            .call(this, state, nowMs)
            .map((a) =>
              a.cmd.type === 'setSlotTable' ? { ...a, cmd: { type: 'setSlotTable', table: a.cmd.table } } : a,
            );
        },
      () => {
        const found = firstViolation();
        expect(found).toBeDefined();
        expect(found?.violations.join('\n')).toMatch(/breaks checkTable|invalid for live servers/);
      },
    );
    expect(firstViolationFree(3)).toBe(true);
  });
});

/** With the bug removed again, the first `n` seeds are clean (the plant was undone). */
function firstViolationFree(n: number): boolean {
  for (let seed = 1; seed <= n; seed++) if (runMetaSimulation({ seed }).violations.length > 0) return false;
  return true;
}
