import { arrange, checkTable } from '@sofareg/consistent-hash';
import type { Publisher, SlotTable } from '@sofareg/contracts';
import { toDataInfoId } from '@sofareg/model';
import type { DatumStore } from '@sofareg/data-core';
import { SeededRandom, SimClock, SimNetwork } from '../kernel';
import { SimDataNode, SimWorld } from './sim-data-node';
import { SimSessionNode, SimSessionWorld } from './sim-session-node';

/** What every subscriber is checked against. */
interface Oracle {
  /** registerId → whether it is live (registered and not removed by its client). */
  live: Map<string, boolean>;
  violations: string[];
}

/** One subscriber's view: what it was last pushed. */
interface View {
  version: number;
  /** registerId → its data as last pushed. */
  publishers: Map<string, string>;
}

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
 * One seeded run of the whole registry: data servers (the real data core and driver) that crash, restart and
 * join; sessions (the real session node) that crash, their clients re-registering through another session, and
 * come back empty; a meta oracle that unlists dead servers and sessions after a lease and arranges the slot
 * table; clients that publish, republish, unpublish, close connections and acknowledge pushes; a network that
 * drops, delays, duplicates, reorders and cuts. Each seed draws its own fault mix. Checked: a publish the session
 * acknowledged is held by a data server (unless its slot is moving or a data server crashed meanwhile); no
 * subscriber is ever pushed a list missing a live publisher it was pushed before; after faults stop, every
 * subscriber sees exactly the live publishers with their latest data, no write is left unanswered, and every
 * Following replica equals its leader; every slot table satisfies the arranger's invariants and epochs only
 * increase. Async only so that the session node's promise continuations run between virtual milliseconds.
 */
export async function runRegistrySim(
  seed: number,
  options: Partial<RegistrySimOptions> = {},
): Promise<RegistrySimResult> {
  const o = { ...DEFAULT_SIM_OPTIONS, ...options };
  const rnd = new SeededRandom(seed);
  const clock = new SimClock();
  const net = new SimNetwork(clock, rnd);
  const trace: string[] = [];
  const log = (msg: string) => {
    if (o.verbose) trace.push(`t=${clock.now} ${msg}`);
  };
  const oracle: Oracle = { live: new Map(), violations: [] };
  const stats: Record<string, number> = {
    publishes: 0,
    republishes: 0,
    unpublishes: 0,
    closes: 0,
    sessionCrashes: 0,
    crashes: 0,
    restarts: 0,
    joins: 0,
    cuts: 0,
    tables: 0,
  };

  const dataIds = Array.from({ length: o.dataIds }, (_, i) => toDataInfoId(`svc.${i}`));
  const sessionNames = Array.from({ length: o.sessions }, (_, i) => `session-${i + 1}`);
  const dataServers = new Map<string, SimDataNode>();
  const sessions = new Map<string, SimSessionNode>();
  const world: SimWorld = { clock, net, dataNode: (a) => dataServers.get(a), session: (a) => sessions.get(a) };
  /** The sessions meta lists as live: a crashed one stays listed until its lease ends. */
  const metaSessions = new Set(sessionNames);
  const sessionEndpoints = () => [...metaSessions].sort().map((address) => ({ address, syncAddress: address }));
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
  const broadcastSessions = () => {
    const nodes = sessionEndpoints();
    for (const d of dataServers.keys()) net.send('meta', d, () => dataServers.get(d)?.driver.onSessionNodes(nodes));
  };
  const rearrange = () => {
    const live = [...metaLive].sort();
    if (live.length === 0) return;
    const prev = table as Parameters<typeof arrange>[0];
    const next = arrange(prev, live, { slotCount: o.slotCount, replicas: o.replicas }) as SlotTable;
    if (next === table) return;
    const problems = checkTable(next as Parameters<typeof checkTable>[0], live, { prev });
    if (problems.length > 0)
      oracle.violations.push(
        `t=${clock.now} slot table ${next.epoch} breaks invariants: ${JSON.stringify(problems[0])}`,
      );
    if (table && next.epoch <= table.epoch)
      oracle.violations.push(`t=${clock.now} slot table epoch went from ${table.epoch} to ${next.epoch}`);
    table = next;
    stats.tables++;
    log(`meta: table ${next.epoch} over ${live.join(',')}`);
    broadcastTable();
  };

  const startData = (address: string) => {
    net.setUp(address, true);
    const d = new SimDataNode(address, world, sessionNames);
    dataServers.set(address, d);
    d.driver.onSessionNodes(sessionEndpoints());
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
    for (const s of sessions.values()) s.dataServerDown(address);
    stats.crashes++;
    log(`crash ${address}`);
    clock.after(o.leaseMs, () => {
      if (dataServers.has(address)) return; // restarted within the lease: same identity, still listed
      metaLive.delete(address);
      rearrange();
    });
  };

  // ---- sessions and their subscribers ----
  /** Subscriber registerId → what it was last pushed; one subscriber per dataInfoId per session incarnation. */
  const views = new Map<string, View>();
  const onPush: SimSessionWorld['onPush'] = (session, connectId, push) => {
    // The client gets the push a little later, checks it, and acknowledges it to the session that sent it.
    clock.after(rnd.int(1, 5), () => {
      if (sessions.get(session.address) !== session) return;
      const data = push.data;
      for (const id of push.registerIds) checkPush(session.address, id, data?.version ?? -1, data?.zoneData ?? {});
      clock.after(
        rnd.int(1, 5),
        () => sessions.get(session.address) === session && session.node.pushAck(push.pushId, connectId),
      );
    });
  };
  const checkPush = (
    session: string,
    subscriber: string,
    version: number,
    zoneData: Record<string, { dataList: string[] }>,
  ) => {
    const view = views.get(subscriber);
    if (!view || version <= view.version) return;
    // Each publisher's data is `registerId@vN`: the push names the publishers it carries.
    const next = new Map<string, string>();
    for (const z of Object.values(zoneData)) for (const item of z.dataList) next.set(item.split('@')[0], item);
    for (const id of view.publishers.keys()) {
      if (!next.has(id) && oracle.live.get(id)) {
        oracle.violations.push(
          `t=${clock.now} ${session} ${subscriber}: push v${version} lacks live publisher ${id} ` +
            `pushed before (v${view.version})`,
        );
      }
    }
    view.version = version;
    view.publishers = next;
  };
  const sessionWorld: SimSessionWorld = { clock, net, rnd, dataNode: (a) => dataServers.get(a)?.driver, onPush };
  let sessionIncarnation = 0;
  /** Session → its current incarnation's subscriber registerId per dataInfoId. */
  const subscriberOf = new Map<string, Map<string, string>>();
  const connections = new Map<string, string[]>(); // session -> open client connections with publishers
  let conn = 0;
  const startSession = (address: string) => {
    net.setUp(address, true);
    const inc = ++sessionIncarnation;
    const s = new SimSessionNode(address, `${address}#${inc}`, sessionWorld);
    sessions.set(address, s);
    const subs = `${address}#${inc}-subs`;
    const mine = new Map<string, string>();
    subscriberOf.set(address, mine);
    s.connections.add(subs);
    if (table) s.onTable(table);
    for (const dataInfoId of dataIds) {
      const registerId = `sub-${inc}-${dataInfoId.split('#')[0]}`;
      views.set(registerId, { version: -1, publishers: new Map() });
      mine.set(dataInfoId, registerId);
      s.node.subscribe({ registerId, dataInfoId, connectId: subs, scope: 'dataCenter', clientIp: '10.0.0.1' });
    }
    connections.set(
      address,
      [1, 2, 3].map(() => `${address}-c${++conn}`),
    );
    for (const c of connections.get(address) ?? []) s.connections.add(c);
    return s;
  };
  for (const s of sessionNames) startSession(s);
  net.setUp('meta', true);
  for (let i = 0; i < o.dataServers; i++) startData(`data-${nextData++}`);

  // Periodic work: meta re-sends the table and the live sessions (heartbeat answers). Data servers run their
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
    broadcastSessions();
  });

  // ---- workload and faults ----
  let reg = 0;
  type Registration = { session: string; registerId: string; connectId: string; dataInfoId: string; version: number };
  const registrations: Registration[] = [];
  /** Data server crashes so far: an acknowledged write may be lost with a leader that crashed before replicating. */
  let dataCrashes = 0;

  /** Every data server's replica of `dataInfoId`'s slot. */
  const replicasOf = (dataInfoId: string) =>
    [...dataServers.values()].flatMap((d) => {
      const slot = d.core.slotIdOf(dataInfoId);
      const replica = slot === undefined ? undefined : d.core.slots.get(slot);
      return replica ? [replica] : [];
    });
  /** Whether some data server holds `r`'s publisher at its version or newer (any slot replica). */
  const heldByData = (r: Registration) =>
    replicasOf(r.dataInfoId).some(
      (rep) => (rep.store.get(r.dataInfoId)?.publishers.get(r.registerId)?.version ?? -1) >= r.version,
    );
  /** Whether the slot of `dataInfoId` has one leader and it serves (none is rebuilding it from the sessions). */
  const slotSettled = (dataInfoId: string) => {
    const leaders = replicasOf(dataInfoId).filter((rep) => rep.role === 'leader');
    return leaders.length === 1 && leaders[0].status === 'Accept';
  };

  const publish = (session: string, r: Registration) => {
    const s = sessions.get(session);
    if (!s) return;
    const p: Publisher = {
      dataInfoId: r.dataInfoId,
      registerId: r.registerId,
      dataList: [`${r.registerId}@v${r.version}`],
      zone: 'z',
      appName: '',
      clientId: '',
      processId: '',
      connectId: r.connectId,
      sessionProcessId: '',
      sessionAddress: session,
      version: r.version,
      registerTimestamp: clock.now,
      clientIp: '',
    };
    oracle.live.set(r.registerId, true);
    log(`publish ${r.registerId} v${r.version} ${r.dataInfoId.split('#')[0]} via ${session}/${r.connectId}`);
    const [version, crashes] = [r.version, dataCrashes];
    void s.node.publish(p).then((res) => {
      if (!res.ok) return log(`publish ${r.registerId} v${version} failed: ${res.error?.code}`);
      log(`ack ${r.registerId} v${version}`);
      // Acknowledged means stored at data: unless it was superseded or removed meanwhile, a data server crashed
      // (with it), or the slot is moving (its new leader rebuilds it from the sessions), some data server holds it.
      const current = oracle.live.get(r.registerId) && r.version === version && r.session === session;
      const calm = crashes === dataCrashes && sessions.get(session) === s && slotSettled(r.dataInfoId);
      if (current && calm && !heldByData(r)) {
        oracle.violations.push(
          `t=${clock.now} ${session}: publish ${r.registerId} v${version} acknowledged but held by no data server`,
        );
      }
    });
  };

  const liveSessions = () => sessionNames.filter((s) => sessions.has(s));
  const step = () => {
    const x = rnd.next();
    const up = liveSessions();
    if (up.length === 0) return;
    const session = rnd.pick(up);
    const open = connections.get(session) as string[];
    const s = sessions.get(session) as SimSessionNode;
    const mine = registrations.filter((r) => r.session === session && oracle.live.get(r.registerId));
    if (x < 0.45 || mine.length === 0) {
      if (open.length === 0) return;
      const r = {
        session,
        registerId: `r${++reg}`,
        connectId: rnd.pick(open),
        dataInfoId: rnd.pick(dataIds),
        version: 1,
      };
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
      void s.node.unpublish(r.registerId, r.connectId, r.version);
    } else if (open.length > 1) {
      const c = open.splice(rnd.int(0, open.length - 1), 1)[0];
      for (const r of registrations)
        if (r.session === session && r.connectId === c) oracle.live.set(r.registerId, false);
      const next = `${session}-c${++conn}`;
      open.push(next);
      s.connections.delete(c);
      s.connections.add(next);
      stats.closes++;
      log(`close ${c}`);
      s.node.connectionClosed(c);
    }
  };

  /**
   * A session crash: its clients notice, reconnect to another live session after a while and register their
   * publishers there again (as the real client does); meta unlists the session after its lease, and data servers
   * drop what it still owns after their grace. The session comes back later as a new process, empty.
   */
  const crashSession = (address: string) => {
    const s = sessions.get(address);
    if (!s) return;
    s.kill();
    net.setUp(address, false);
    sessions.delete(address);
    connections.delete(address);
    stats.sessionCrashes++;
    log(`crash ${address}`);
    const orphans = registrations.filter((r) => r.session === address && oracle.live.get(r.registerId));
    for (const r of orphans) r.session = '';
    const reRegister = (r: Registration) => {
      const others = liveSessions().filter((x) => x !== address);
      if (!oracle.live.get(r.registerId) || r.session !== '') return;
      if (others.length === 0) return void clock.after(100, () => reRegister(r));
      r.session = rnd.pick(others);
      r.connectId = rnd.pick(connections.get(r.session) as string[]);
      publish(r.session, r);
    };
    for (const r of orphans) clock.after(rnd.int(50, 400), () => reRegister(r));
    clock.after(o.leaseMs, () => {
      if (sessions.has(address)) return;
      metaSessions.delete(address);
      broadcastSessions();
    });
    clock.after(rnd.int(600, 3 * o.leaseMs), () => {
      log(`restart ${address}`);
      startSession(address);
      metaSessions.add(address);
      broadcastSessions();
    });
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
      dataCrashes++;
      crashData(victim);
      if (rnd.chance(mix.restartRate))
        clock.after(rnd.int(200, 2 * o.leaseMs), () => {
          if (!dataServers.has(victim)) {
            stats.restarts++;
            log(`restart ${victim}`);
            startData(victim);
          }
        });
    } else if (kind === 'sessionCrash' && liveSessions().length > 1) {
      crashSession(rnd.pick(liveSessions()));
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

  let events = await runDraining(clock, o.faultyMs);
  // Faults stop: every server comes back up, the network heals, and the cluster settles.
  net.faults.dropRate = 0;
  net.faults.duplicateRate = 0;
  net.faults.maxDelayMs = 5;
  net.faults.cut.clear();
  events += await runDraining(clock, o.faultyMs + o.settleMs);

  for (const [name, s] of sessions) {
    const pending = s.node.router.pendingOps;
    if (pending > 0) oracle.violations.push(`${name}: ${pending} writes still not acknowledged after settling`);
    for (const id of dataIds) {
      const want = new Map<string, string>();
      for (const r of registrations) {
        if (r.dataInfoId === id && oracle.live.get(r.registerId))
          want.set(r.registerId, `${r.registerId}@v${r.version}`);
      }
      const have = views.get(subscriberOf.get(name)?.get(id) ?? '')?.publishers ?? new Map<string, string>();
      const missing = [...want].filter(([k, v]) => have.get(k) !== v).map(([k]) => k);
      const extra = [...have.keys()].filter((k) => !want.has(k));
      if ((missing.length > 0 || extra.length > 0) && o.verbose) {
        for (const d of dataServers.values()) {
          const slot = d.core.slotIdOf(id);
          const rep = slot === undefined ? undefined : d.core.slots.get(slot);
          const e = rep?.store.get(id);
          if (e)
            log(
              `${d.address} slot ${slot} ${rep?.role}/${rep?.status} v${e.version}: ${[...e.publishers.values()].map((p) => `${p.registerId}@${p.sessionAddress}/${p.connectId}`).join(' ')}`,
            );
        }
      }
      if (missing.length > 0 || extra.length > 0) {
        oracle.violations.push(
          `${name} ${id}: not converged after settling: missing/outdated [${missing.join(',')}], not live [${extra.join(',')}]`,
        );
      }
    }
  }
  // Every replica that is Following holds what its leader holds: same datum versions and publishers.
  const summary = (store: DatumStore) =>
    [...store.entries()]
      .filter((e) => e.version > 0 || e.publishers.size > 0)
      .map(
        (e) =>
          `${e.dataInfoId} v${e.version}: ${[...e.publishers.values()]
            .map((p) => `${p.registerId}=${p.dataList.join(',')}`)
            .sort()
            .join(' ')}`,
      )
      .sort();
  for (const d of dataServers.values()) {
    for (const rep of d.core.slots.values()) {
      if (rep.role !== 'follower' || rep.status !== 'Following') continue;
      const lead = dataServers.get(rep.leader)?.core.slots.get(rep.id);
      if (!lead || lead.role !== 'leader' || lead.leaderEpoch !== rep.leaderEpoch) continue;
      const [mine, theirs] = [summary(rep.store), summary(lead.store)];
      if (mine.join('\n') === theirs.join('\n')) continue;
      const [mineSet, theirSet] = [new Set(mine), new Set(theirs)];
      const diff = [
        ...mine.filter((x) => !theirSet.has(x)).map((x) => `-${x}`),
        ...theirs.filter((x) => !mineSet.has(x)).map((x) => `+${x}`),
      ];
      oracle.violations.push(
        `${d.address} slot ${rep.id}: Following replica differs from its leader ${rep.leader} after settling: ${diff.slice(0, 4).join('; ')}`,
      );
    }
  }
  return { seed, violations: oracle.violations, events, stats, trace };
}

type FaultKind = 'crash' | 'sessionCrash' | 'join' | 'cut' | 'network';

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
  const kinds: FaultKind[] = ['crash', 'sessionCrash', 'join', 'cut', 'network'];
  const weights = Object.fromEntries(kinds.map((k) => [k, rnd.chance(0.25) ? 0 : rnd.next()])) as Record<
    FaultKind,
    number
  >;
  if (kinds.every((k) => weights[k] === 0)) weights.network = 1;
  const total = kinds.reduce((n, k) => n + weights[k], 0);
  return {
    weights,
    restartRate: rnd.pick([0, 0.5, 1]),
    maxDropRate: rnd.pick([0, 0.05, 0.1, 0.2]),
    maxDuplicateRate: rnd.pick([0, 0.05, 0.1, 0.3]),
    gapMs: rnd.pick<[number, number]>([
      [400, 1_500],
      [150, 600],
    ]),
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

/** Microtask turns given to promise continuations after each virtual millisecond in which events ran. */
const MICROTASK_TURNS = 16;

/**
 * Runs the clock to `untilMs` one virtual millisecond at a time, letting the promise continuations of what ran
 * (the session node's port answers, its write results) run before the next millisecond: they are microtasks, so
 * a run stays a pure function of its seed. Returns how many events ran.
 */
async function runDraining(clock: SimClock, untilMs: number): Promise<number> {
  let events = 0;
  while (clock.now < untilMs) {
    const ran = clock.runUntil(clock.now + 1);
    events += ran;
    // Continuations chain a few promises deep; what a chain leaves for later runs at the next drain.
    if (ran > 0) for (let i = 0; i < MICROTASK_TURNS; i++) await undefined;
  }
  return events;
}
