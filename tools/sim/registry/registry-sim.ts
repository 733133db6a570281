import { arrange, checkTable } from '@sofareg/consistent-hash';
import type { Publisher, SlotTable } from '@sofareg/contracts';
import { toDataInfoId } from '@sofareg/model';
import type { DatumStore } from '@sofareg/data-core';
import { SeededRandom, SimClock, SimNetwork } from '../kernel';
import { SimDataNode, SimWorld } from './sim-data-node';
import { Oracle, SimSession } from './sim-session';

/** The shape of one simulated run. */
export interface RegistrySimOptions {
  dataServers: number;
  sessions: number;
  dataIds: number;
  slotCount: number;
  replicas: number;
  /** Virtual ms of workload and faults; then faults stop and the cluster settles. */
  faultyMs: number;
  settleMs: number;
  /** How long meta waits before evicting a dead data server. */
  leaseMs: number;
  verbose?: boolean;
}

export const DEFAULT_SIM_OPTIONS: RegistrySimOptions = {
  dataServers: 3,
  sessions: 2,
  dataIds: 12,
  slotCount: 16,
  replicas: 2,
  faultyMs: 6_000,
  settleMs: 6_000,
  leaseMs: 1_000,
};

/** What one seed found. */
export interface RegistrySimResult {
  seed: number;
  violations: string[];
  events: number;
  stats: Record<string, number>;
  trace: string[];
}

/**
 * One seeded run of the whole registry: data servers (the real core) that crash, restart and join,
 * sessions that hold the truth, a meta oracle that evicts dead servers after a lease and arranges the slot
 * table, clients that publish, republish, unpublish and close connections, and a network that drops, delays,
 * reorders and cuts. Checked: no subscriber is ever pushed a list missing a live publisher it was pushed
 * before; after faults stop, every subscriber sees exactly the live publishers with their latest data;
 * every slot table satisfies the arranger's invariants and epochs only increase.
 */
export function runRegistrySim(seed: number, options: Partial<RegistrySimOptions> = {}): RegistrySimResult {
  const o = { ...DEFAULT_SIM_OPTIONS, ...options };
  const rnd = new SeededRandom(seed);
  const clock = new SimClock();
  const net = new SimNetwork(clock, rnd);
  const trace: string[] = [];
  const log = (msg: string) => {
    if (o.verbose) trace.push(`t=${clock.now} ${msg}`);
  };
  const oracle: Oracle = { live: new Map(), violations: [] };
  const stats: Record<string, number> = { publishes: 0, republishes: 0, unpublishes: 0, closes: 0, crashes: 0, restarts: 0, joins: 0, cuts: 0, tables: 0 };

  const dataIds = Array.from({ length: o.dataIds }, (_, i) => toDataInfoId(`svc.${i}`));
  const sessionNames = Array.from({ length: o.sessions }, (_, i) => `session-${i + 1}`);
  const dataServers = new Map<string, SimDataNode>();
  const sessions = new Map<string, SimSession>();
  const world: SimWorld = { clock, net, dataNode: (a) => dataServers.get(a), session: (a) => sessions.get(a) };
  const sessionEndpoints = sessionNames.map((address) => ({ address, syncAddress: address }));
  let nextData = 1;

  // ---- meta oracle ----
  let table: SlotTable | undefined;
  const metaLive = new Set<string>();
  const broadcastTable = () => {
    if (!table) return;
    const t = table;
    for (const d of dataServers.keys()) net.send('meta', d, () => dataServers.get(d)?.driver.onSlotTable(t));
    for (const s of sessions.keys()) net.send('meta', s, () => sessions.get(s)?.onTable(t));
  };
  const rearrange = () => {
    const live = [...metaLive].sort();
    if (live.length === 0) return;
    const prev = table as Parameters<typeof arrange>[0];
    const next = arrange(prev, live, { slotCount: o.slotCount, replicas: o.replicas }) as SlotTable;
    if (next === table) return;
    const problems = checkTable(next as Parameters<typeof checkTable>[0], live, { prev });
    if (problems.length > 0) oracle.violations.push(`t=${clock.now} slot table ${next.epoch} breaks invariants: ${JSON.stringify(problems[0])}`);
    if (table && next.epoch <= table.epoch) oracle.violations.push(`t=${clock.now} slot table epoch went from ${table.epoch} to ${next.epoch}`);
    table = next;
    stats.tables++;
    log(`meta: table ${next.epoch} over ${live.join(',')}`);
    broadcastTable();
  };

  const startData = (address: string) => {
    net.setUp(address, true);
    const d = new SimDataNode(address, world, sessionNames);
    dataServers.set(address, d);
    d.driver.onSessionNodes(sessionEndpoints);
    if (table) d.driver.onSlotTable(table);
    // Meta learns of it on its first heartbeat.
    clock.after(rnd.int(5, 50), () => {
      if (dataServers.get(address) !== d) return;
      metaLive.add(address);
      rearrange();
    });
    return d;
  };
  const crashData = (address: string) => {
    const d = dataServers.get(address);
    if (!d) return;
    d.kill();
    net.setUp(address, false);
    dataServers.delete(address);
    stats.crashes++;
    log(`crash ${address}`);
    clock.after(o.leaseMs, () => {
      if (dataServers.has(address)) return; // restarted within the lease: same identity, still listed
      metaLive.delete(address);
      rearrange();
    });
  };

  for (const s of sessionNames) {
    net.setUp(s, true);
    sessions.set(s, new SimSession(s, dataIds, clock, net, rnd, (a) => dataServers.get(a)?.driver, oracle));
  }
  net.setUp('meta', true);
  for (let i = 0; i < o.dataServers; i++) startData(`data-${nextData++}`);

  // Periodic work: meta re-sends the table (heartbeat answers), sessions scan versions. Data servers run their
  // own (lease expiry, digest rounds) on the virtual clock.
  const every = (ms: number, fn: () => void) => {
    const loop = () => {
      fn();
      clock.after(ms, loop);
    };
    clock.after(ms, loop);
  };
  every(300, () => {
    rearrange();
    broadcastTable();
  });
  every(1_000, () => sessions.forEach((s) => s.tick()));

  // ---- workload and faults ----
  let reg = 0;
  const registrations: { session: string; registerId: string; connectId: string; dataInfoId: string; version: number }[] = [];
  const connections = new Map<string, string[]>(); // session -> open connectIds
  for (const s of sessionNames) connections.set(s, [`${s}-c1`, `${s}-c2`, `${s}-c3`]);
  let conn = 3;

  const publish = (session: string, r: { registerId: string; connectId: string; dataInfoId: string; version: number }) => {
    const p: Publisher = {
      dataInfoId: r.dataInfoId, registerId: r.registerId, dataList: [`${r.registerId}@v${r.version}`], zone: 'z', appName: '', clientId: '', processId: '',
      connectId: r.connectId, sessionProcessId: '', sessionAddress: session, version: r.version, registerTimestamp: clock.now, clientIp: '',
    };
    oracle.live.set(r.registerId, true);
    log(`publish ${r.registerId} v${r.version} ${r.dataInfoId.split('#')[0]} via ${session}/${r.connectId}`);
    sessions.get(session)?.publish(p, () => log(`ack ${r.registerId} v${r.version}`));
  };

  const step = () => {
    const x = rnd.next();
    const session = rnd.pick(sessionNames);
    const open = connections.get(session) as string[];
    const mine = registrations.filter((r) => r.session === session && oracle.live.get(r.registerId));
    if (x < 0.45 || mine.length === 0) {
      if (open.length === 0) return;
      const r = { session, registerId: `r${++reg}`, connectId: rnd.pick(open), dataInfoId: rnd.pick(dataIds), version: 1 };
      registrations.push(r);
      stats.publishes++;
      publish(session, r);
    } else if (x < 0.75) {
      const r = rnd.pick(mine);
      r.version++;
      stats.republishes++;
      publish(session, r);
    } else if (x < 0.9) {
      const r = rnd.pick(mine);
      oracle.live.set(r.registerId, false);
      stats.unpublishes++;
      log(`unpublish ${r.registerId}`);
      sessions.get(session)?.unpublish(r.registerId);
    } else if (open.length > 1) {
      const c = open.splice(rnd.int(0, open.length - 1), 1)[0];
      for (const r of registrations) if (r.session === session && r.connectId === c) oracle.live.set(r.registerId, false);
      open.push(`${session}-c${++conn}`);
      stats.closes++;
      log(`close ${c}`);
      sessions.get(session)?.closeConnection(c);
    }
  };
  for (let t = rnd.int(10, 60); t < o.faultyMs; t += rnd.int(10, 80)) clock.after(t, step);

  // Swarm testing: each seed draws its own fault mix (some kinds off altogether, rates and pace of its own), so
  // that runs differ in kind as well as in order; a mix without crashes, say, lets replication run long.
  const mix = drawFaultMix(rnd);
  log(`fault mix ${JSON.stringify(mix)}`);
  const fault = () => {
    const kind = mix.pick(rnd.next());
    const up = [...dataServers.keys()];
    if (kind === 'crash' && up.length > Math.max(1, o.replicas - 1)) {
      const victim = rnd.pick(up);
      crashData(victim);
      if (rnd.chance(mix.restartRate)) clock.after(rnd.int(200, 2 * o.leaseMs), () => {
        if (!dataServers.has(victim)) {
          stats.restarts++;
          log(`restart ${victim}`);
          startData(victim);
        }
      });
    } else if (kind === 'join') {
      const a = `data-${nextData++}`;
      stats.joins++;
      log(`join ${a}`);
      startData(a);
    } else if (kind === 'cut' && up.length > 0) {
      const cut = `${rnd.pick(up)}|${rnd.pick(sessionNames)}`;
      net.faults.cut.add(cut);
      stats.cuts++;
      log(`cut ${cut}`);
      clock.after(rnd.int(100, 1_000), () => net.faults.cut.delete(cut));
    } else if (kind === 'network') {
      net.faults.dropRate = rnd.chance(0.5) ? rnd.next() * mix.maxDropRate : 0;
      net.faults.duplicateRate = rnd.chance(0.5) ? rnd.next() * mix.maxDuplicateRate : 0;
      net.faults.maxDelayMs = rnd.int(2, 40);
    }
  };
  for (let t = rnd.int(300, 900); t < o.faultyMs - 500; t += rnd.int(mix.gapMs[0], mix.gapMs[1])) clock.after(t, fault);

  let events = clock.runUntil(o.faultyMs);
  // Faults stop: every server comes back up, the network heals, and the cluster settles.
  net.faults.dropRate = 0;
  net.faults.duplicateRate = 0;
  net.faults.maxDelayMs = 5;
  net.faults.cut.clear();
  events += clock.runUntil(o.faultyMs + o.settleMs);

  for (const [name, s] of sessions) {
    if (s.pendingWrites > 0) oracle.violations.push(`${name}: ${s.pendingWrites} writes still not acknowledged after settling`);
    for (const id of dataIds) {
      const want = new Map<string, string>();
      for (const other of sessions.values()) for (const p of other.publishers.values()) if (p.dataInfoId === id) want.set(p.registerId, p.dataList.join(','));
      const have = s.views.get(id)?.publishers ?? new Map();
      const missing = [...want].filter(([k, v]) => have.get(k) !== v).map(([k]) => k);
      const extra = [...have.keys()].filter((k) => !want.has(k));
      if ((missing.length > 0 || extra.length > 0) && o.verbose) {
        for (const d of dataServers.values()) {
          const slot = d.core.slotIdOf(id);
          const rep = slot === undefined ? undefined : d.core.slots.get(slot);
          const e = rep?.store.get(id);
          if (e) log(`${d.address} slot ${slot} ${rep?.role}/${rep?.status} v${e.version}: ${[...e.publishers.values()].map((p) => `${p.registerId}@${p.sessionAddress}/${p.connectId}`).join(' ')}`);
        }
      }
      if (missing.length > 0 || extra.length > 0) {
        oracle.violations.push(`${name} ${id}: not converged after settling: missing/outdated [${missing.join(',')}], not live [${extra.join(',')}]`);
      }
    }
  }
  // Every replica that is Following holds what its leader holds: same datum versions and publishers.
  const summary = (store: DatumStore) =>
    [...store.entries()]
      .filter((e) => e.version > 0 || e.publishers.size > 0)
      .map((e) => `${e.dataInfoId} v${e.version}: ${[...e.publishers.values()].map((p) => `${p.registerId}=${p.dataList.join(',')}`).sort().join(' ')}`)
      .sort();
  for (const d of dataServers.values()) {
    for (const rep of d.core.slots.values()) {
      if (rep.role !== 'follower' || rep.status !== 'Following') continue;
      const lead = dataServers.get(rep.leader)?.core.slots.get(rep.id);
      if (!lead || lead.role !== 'leader' || lead.leaderEpoch !== rep.leaderEpoch) continue;
      const [mine, theirs] = [summary(rep.store), summary(lead.store)];
      if (mine.join('\n') === theirs.join('\n')) continue;
      const [mineSet, theirSet] = [new Set(mine), new Set(theirs)];
      const diff = [...mine.filter((x) => !theirSet.has(x)).map((x) => `-${x}`), ...theirs.filter((x) => !mineSet.has(x)).map((x) => `+${x}`)];
      oracle.violations.push(`${d.address} slot ${rep.id}: Following replica differs from its leader ${rep.leader} after settling: ${diff.slice(0, 4).join('; ')}`);
    }
  }
  return { seed, violations: oracle.violations, events, stats, trace };
}

type FaultKind = 'crash' | 'join' | 'cut' | 'network';

/** One seed's fault mix: how often each kind of fault is drawn, the network's worst rates, the pace of faults. */
interface FaultMix {
  weights: Record<FaultKind, number>;
  restartRate: number;
  maxDropRate: number;
  maxDuplicateRate: number;
  /** Bounds of the pause between two faults, ms. */
  gapMs: [number, number];
  /** The kind of fault for a uniform draw in [0, 1). */
  pick(x: number): FaultKind;
}

/** Draws a seed's fault mix: each kind is off with probability 1/4, else weighted at random (never all off). */
function drawFaultMix(rnd: SeededRandom): FaultMix {
  const kinds: FaultKind[] = ['crash', 'join', 'cut', 'network'];
  const weights = Object.fromEntries(kinds.map((k) => [k, rnd.chance(0.25) ? 0 : rnd.next()])) as Record<FaultKind, number>;
  if (kinds.every((k) => weights[k] === 0)) weights.network = 1;
  const total = kinds.reduce((n, k) => n + weights[k], 0);
  return {
    weights,
    restartRate: rnd.pick([0, 0.5, 1]),
    maxDropRate: rnd.pick([0, 0.05, 0.1, 0.2]),
    maxDuplicateRate: rnd.pick([0, 0.05, 0.1, 0.3]),
    gapMs: rnd.pick<[number, number]>([[400, 1_500], [150, 600]]),
    pick: (x) => {
      let left = x * total;
      for (const k of kinds) {
        if (left < weights[k]) return k;
        left -= weights[k];
      }
      return 'network';
    },
  };
}
