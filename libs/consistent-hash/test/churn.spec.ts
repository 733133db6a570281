import { type SlotTable, arrange, checkTable, diffTables } from '../src';
import { Prng, seedFor } from './prng';
import { copiesLowerBound, counts, get, placementMinimum, servers } from './tables';

/**
 * Churn: a pool of 20 data servers joining and dying at random (seeded), the table re-arranged after
 * every event, every invariant checked after every step.
 */
interface Churn {
  name: string;
  replicas: number;
  steps: number;
  /** Servers become ready only through caughtUp, which lags: a holder joins it with this probability per step. */
  caughtUpLag?: number;
  seed: number;
}

const runs: Churn[] = [
  { name: 'replicas 2, readiness by one table as follower', replicas: 2, steps: 300, seed: 1 },
  { name: 'replicas 3, readiness by lagging caughtUp', replicas: 3, steps: 300, caughtUpLag: 0.5, seed: 2 },
  { name: 'replicas 1', replicas: 1, steps: 150, seed: 3 },
];

describe('churn', () => {
  it.each(runs)('$name: invariants hold after every step, movement stays bounded', (run) => {
    const rnd = new Prng(seedFor(`churn ${run.name}`, run.seed));
    const fail = (step: number, what: string): never => {
      throw new Error(`seed ${rnd.seed}, step ${step}: ${what}`);
    };
    const S = 256;
    const opts = { slotCount: S, replicas: run.replicas };
    const pool = servers(20);
    let live = pool.slice(0, 10);
    const ready = new Set(live);
    let t: SlotTable = arrange(undefined, live, opts);
    const stats = {
      passedOn: 0,
      gains: 0,
      tables: 0,
      copies: 0,
      sampledCopies: 0,
      copiesBound: 0,
      sampled: 0,
      placements: 0,
      exactPlacement: 0,
      leaderChanges: 0,
      orphans: 0,
      maxMs: 0,
    };

    for (let step = 0; step < run.steps; step++) {
      const x = rnd.next();
      const dead = pool.filter((s) => !live.includes(s));
      if (x < 0.35 && dead.length > 0) live = [...live, rnd.pick(dead)];
      else if (x < 0.7 && live.length > 0) {
        const victim = rnd.pick(live);
        live = live.filter((s) => s !== victim);
      } else if (x < 0.75 && live.length > 2) live = rnd.shuffle(live).slice(2);
      const caughtUp = run.caughtUpLag === undefined ? undefined : ready;
      const started = process.hrtime.bigint();
      const u = arrange(t, live, { ...opts, caughtUp });
      stats.maxMs = Math.max(stats.maxMs, Number(process.hrtime.bigint() - started) / 1e6);

      const violations = checkTable(u, live, { prev: t, caughtUp });
      if (violations.length > 0) fail(step, JSON.stringify(violations.slice(0, 3)));
      if (u !== t) {
        if (u.epoch !== t.epoch + 1) fail(step, `epoch ${u.epoch} after ${t.epoch}`);
        if (!Object.isFrozen(u) || !Object.isFrozen(u.slots[0])) fail(step, 'table not frozen');
        stats.tables++;
        const d = diffTables(t, u);
        const before = counts(t, live);
        const after = counts(u, live);
        let orphans = 0;
        for (const slot of t.slots) if (!live.includes(slot.leader)) orphans++;
        let gains = 0;
        for (const s of live) gains += Math.max(0, get(after.leaders, s) - get(before.leaders, s));
        // Leaders move only for a slot that lost its leader or a server that needs more leaderships,
        // plus swaps passed on through chains when the taker follows too few of a giver's slots
        // (measured over 6,700 tables: at most 8 per table and 19% of the gains, 0.2% overall).
        const passedOn = d.leaderChanges.length - orphans - gains;
        if (passedOn > Math.ceil(gains / 4) + live.length) {
          fail(step, `${d.leaderChanges.length} leader changes for ${orphans} orphans and ${gains} gains`);
        }
        stats.passedOn += Math.max(0, passedOn);
        stats.gains += gains;
        stats.leaderChanges += d.leaderChanges.length;
        stats.orphans += orphans;
        stats.copies += d.replicasAdded;
        if (step % 4 === 0) {
          const bound = copiesLowerBound(t, u, live);
          if (d.replicasAdded > Math.ceil(bound * 1.25) + 4)
            fail(step, `${d.replicasAdded} copies, lower bound ${bound}`);
          stats.copiesBound += bound;
          stats.sampledCopies += d.replicasAdded;
          stats.sampled++;
        }
        if (step % 20 === 0 && live.length > 0) {
          const exact = placementMinimum(t, u, live);
          if (d.replicasAdded > exact + 2) fail(step, `${d.replicasAdded} copies, best placement ${exact}`);
          stats.placements++;
          if (d.replicasAdded === exact) stats.exactPlacement++;
        }
      } else if (u !== arrange(t, [...live].reverse(), { ...opts, caughtUp })) {
        fail(step, 'unchanged table not stable under input order');
      }
      // Servers that held a replica catch up, some later than others.
      if (run.caughtUpLag !== undefined) {
        for (const s of counts(u).holdings.keys()) if (rnd.next() < run.caughtUpLag) ready.add(s);
        for (const s of [...ready]) if (!live.includes(s)) ready.delete(s);
      }
      t = u;

      // Now and then let the cluster settle: with membership stable and everyone caught up, the table
      // reaches a fixed point within three arrangements.
      if (step % 50 === 49) {
        for (const s of live) ready.add(s);
        let settled = false;
        for (let i = 0; i < 3 && !settled; i++) {
          const v = arrange(t, live, { ...opts, caughtUp: run.caughtUpLag === undefined ? undefined : ready });
          if (checkTable(v, live, { prev: t }).length > 0) fail(step, 'settling broke an invariant');
          settled = v === t;
          t = v;
        }
        if (!settled) fail(step, 'did not settle within three arrangements');
      }
    }
    process.stdout.write(
      `[consistent-hash] churn ${run.name}: ${run.steps} steps, ${stats.tables} tables; ` +
        `copies ${stats.copies} (in ${stats.sampled} sampled tables ${stats.sampledCopies} against a lower bound of ${stats.copiesBound}); ` +
        `follower placement optimal in ${stats.exactPlacement}/${stats.placements} checked; ` +
        `leader changes ${stats.leaderChanges} for ${stats.orphans} orphaned slots and ${stats.gains} gains (${stats.passedOn} passed on); ` +
        `slowest arrange ${stats.maxMs.toFixed(1)} ms\n`,
    );
  });
});
