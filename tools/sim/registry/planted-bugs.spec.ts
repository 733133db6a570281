import type { Effects, SlotReplicaState } from '@sofareg/data-core';
import { ReplicationLog, SlotRoles } from '@sofareg/data-core';
import type { ReplicaOp } from '@sofareg/contracts';
import type { Publisher, WriteResult } from '@sofareg/contracts';
import { SessionNode } from '@sofareg/session-node';
import { runRegistrySim } from './registry-sim';

/**
 * The registry simulation must catch real bugs in the real data core and session node: each case replaces one
 * method of a shipped class with a buggy copy for the duration of the test (restored in `finally`) and expects a
 * violation within the first SEEDS seeds. A case that passes unnoticed means the simulation cannot be trusted.
 * (registry-sim.spec.ts checks that the shipped code passes these same seeds.)
 */
const SEEDS = 100;

/** The first seed (of 1..SEEDS) on which the simulation reports a violation, with it; undefined if none. */
async function firstViolation(): Promise<{ seed: number; violation: string } | undefined> {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = await runRegistrySim(seed);
    if (r.violations.length > 0) return { seed, violation: r.violations[0] };
  }
  return undefined;
}

/** Runs `check` with `proto[name]` replaced by `buggy`, then puts the shipped method back. */
async function withPlanted<T extends object, K extends keyof T>(
  proto: T,
  name: K,
  buggy: T[K],
  check: () => Promise<void>,
): Promise<void> {
  const shipped = proto[name];
  proto[name] = buggy;
  try {
    await check();
  } finally {
    proto[name] = shipped;
  }
}

describe('planted bugs in the data core are found by the registry simulation', () => {
  it('a follower that skips an op (the first of a batch of several)', async () => {
    const shipped = ReplicationLog.prototype.applyOps;
    function skipsOne(this: ReplicationLog, slot: SlotReplicaState, ops: readonly ReplicaOp[]): void {
      if (ops.length < 2) return shipped.call(this, slot, ops);
      shipped.call(this, slot, ops.slice(1));
      slot.nextSeq += 1; // acknowledged as if applied
    }
    await withPlanted(ReplicationLog.prototype, 'applyOps', skipsOne, async () => {
      const found = await firstViolation();
      expect(found?.violation).toMatch(/Following replica differs from its leader/);
    });
  }, 300_000);

  it('a leader that serves reads before it has synced the slot from every session', async () => {
    function acceptsEarly(this: SlotRoles, slot: SlotReplicaState, fx: Effects): void {
      if (slot.status !== 'Migrating' || !slot.pendingSessions) return;
      slot.status = 'Accept';
      for (const e of slot.store.entries()) fx.notify.set(e.dataInfoId, e.version);
    }
    await withPlanted(SlotRoles.prototype, 'maybeAccept', acceptsEarly, async () => {
      const found = await firstViolation();
      // The early leader misses publishers written to its predecessor: acknowledged ones, then pushed ones.
      expect(found?.violation).toMatch(/acknowledged but held by no data server|lacks live publisher|not converged/);
    });
  }, 300_000);
});

describe('planted bugs in the session node are found by the registry simulation', () => {
  it('a session that acknowledges a publish before data answered', async () => {
    const shipped = SessionNode.prototype.publish;
    function acksEarly(this: SessionNode, p: Publisher): Promise<WriteResult> {
      void shipped.call(this, p);
      return Promise.resolve({ ok: true, error: undefined });
    }
    await withPlanted(SessionNode.prototype, 'publish', acksEarly, async () => {
      const found = await firstViolation();
      expect(found?.violation).toMatch(/acknowledged but held by no data server/);
    });
  }, 300_000);
});
