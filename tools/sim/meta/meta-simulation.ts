import type {
  HeartbeatRequest,
  HeartbeatResponse,
  MetaEvent,
  NodeInfo,
  SlotTable,
  WatchRequest,
} from '@sofareg/contracts';
import { checkTable } from '@sofareg/consistent-hash';
import { HashRing } from '@sofareg/hash-ring';
import {
  LeaderDuties,
  type MetaChange,
  MetaClientDriver,
  type MetaClientPort,
  type MetaWatchHandlers,
  type MetaCommand,
  MetaStateMachine,
  changeEvents,
  encodeMetaCommand,
  heartbeatAnswer,
  initialWatchEvents,
  notLeaderAnswer,
  notLeaderError,
  refuseHeartbeat,
  refusedAnswer,
} from '@sofareg/meta-core';
import {
  EntryType,
  MemoryStorage,
  type Message,
  type NodeId,
  RawNode,
  type Ready,
  Role,
  applyReady,
} from '@sofareg/raft';
import { SeededRandom, SimClock, SimNetwork } from '../kernel';
import {
  BARRIER_RETRY_MS,
  DUTY_TICK_MS,
  HEARTBEAT_MS,
  LEASE_MS,
  type MetaSimShape,
  RPC_TIMEOUT_MS,
  SETTLE_MS,
  SUSPECT_MS,
  TAKEOVER_GRACE_MS,
  TICK_MS,
  describeShape,
  drawShape,
} from './meta-sim-config';

/** Knobs of one simulated run; everything not given is drawn from the seed. */
export interface MetaSimOptions {
  seed: number;
  /** Virtual milliseconds of faults (default 12 s). */
  activeMs?: number;
  /** Virtual milliseconds of calm at the end (default: lease + 9 s) before the final checks. */
  quietMs?: number;
  /** Record a human-readable trace of every notable event. */
  trace?: boolean;
}

/** What a run found. */
export interface MetaSimResult {
  seed: number;
  violations: string[];
  config: string;
  stats: MetaSimStats;
  trace: string[];
}

/** Counts of what happened in a run. */
export interface MetaSimStats {
  events: number;
  elections: number;
  metaCrashes: number;
  partitions: number;
  joins: number;
  kills: number;
  restarts: number;
  evictions: number;
  /** Evictions of a server whose process was alive (legitimate under partitions; never in calm). */
  liveEvictions: number;
  tables: number;
  maxEpoch: number;
  tablesReceived: number;
  snapshots: number;
}

/** One simulated meta node: the real Raft core, state machine and leader duties, driven as the shell does. */
interface SimMeta {
  id: NodeId;
  storage: MemoryStorage;
  raw: RawNode | undefined;
  sm: MetaStateMachine;
  duties: LeaderDuties;
  /** Incarnation: events of an earlier one are ignored. */
  gen: number;
  fsyncPending: boolean;
  role: Role;
  leaderId: NodeId;
  /** Proposals of this leader by log index, settled when that index is applied. */
  pending: Map<number, MetaCommand>;
  /** The read barrier of a new leader: its context and the index it must reach. */
  barrier: { ctx: string; index: number | undefined; at: number } | undefined;
  barrierSeq: number;
  /** Open watch streams (stream id → server), served or waiting for the catch-up. */
  watchers: Map<number, SimWatcher>;
  voters: NodeId[];
}

interface SimWatcher {
  server: string;
  serverGen: number;
  request: WatchRequest;
  served: boolean;
  /** When the last message on this stream reaches the server (a stream delivers in order). */
  lastDelivery: number;
}

/** One simulated data server: the real MetaClient driver and core, on the simulated network and clock. */
interface SimServer {
  address: string;
  metaAddresses: NodeId[];
  alive: boolean;
  gen: number;
  client: MetaClientDriver;
  /** The open watch stream: its meta, the stream id, the newest epoch it carried, who it reports to. */
  watch: { meta: NodeId; stream: number; floor: number; handlers: MetaWatchHandlers } | undefined;
  /** The newest table the MetaClient emitted. */
  held: number;
  /** Process alive since (for the eviction check). */
  since: number;
}

/**
 * A deterministic simulation of the meta cluster on the shipped code: Raft cores (`RawNode`) whose state
 * machine is meta's own ({@link MetaStateMachine}), the real {@link LeaderDuties} (read barrier, leases,
 * evictions, arrangement as compare-and-set) and the real answers of meta-core, and data servers that each run
 * the real {@link MetaClientDriver} and its core (heartbeats, NotLeader hints, rotation, watch reopening). Only
 * the clock, the network and the disk are simulated: seeded virtual time, a lossy, reordering, duplicating Raft
 * network (client calls are lost only with their connection), meta crashes (losing unsynced writes), partitions
 * (isolating a meta from its peers, sometimes from servers too), data servers joining, dying (kill -9: their
 * watch stream closes at once) and restarting. Each seed draws its own fault mix and how servers are told the
 * meta addresses (all, shuffled, or a single one).
 *
 * Checked: every slot table meta sends is the committed table of that epoch and newer than what the server
 * held; every table a MetaClient emits is newer than the last; every committed table satisfies `checkTable`;
 * after the calm: one leader, every live server registered (with its current process), every dead one
 * evicted, the final table valid for the live servers and held by all of them. Throughout: no live server is
 * evicted for a meta crash or leader change (only a partition that cut it may cost it its registration, within
 * SETTLE_MS of healing).
 */
export class MetaSimulation {
  private readonly rnd: SeededRandom;
  private readonly clock = new SimClock();
  /**
   * Between meta nodes (the Raft transport): delays, reorders, drops and duplicates (its queues drop under
   * load and Raft retransmits), and partitions.
   */
  private readonly raftNet: SimNetwork;
  /**
   * Between servers and meta (gRPC over TCP): delays and cuts, never a silent loss or a duplicate: a lost
   * call is a broken connection, which a cut or a crash models.
   */
  private readonly clientNet: SimNetwork;
  private readonly shape: MetaSimShape;
  private readonly metas = new Map<NodeId, SimMeta>();
  private readonly servers = new Map<string, SimServer>();
  private readonly violations: string[] = [];
  private readonly trace: string[] = [];
  private readonly leadersByTerm = new Map<number, NodeId>();
  /** The committed table of each epoch (JSON), from its first apply anywhere. */
  private readonly committedTables = new Map<number, string>();
  private cutFromServers = new Set<NodeId>();
  private partitionGen = 0;
  private lastPartitionAt = -Infinity;
  private quiet = false;
  private nextServer = 1;
  private nextStream = 1;
  private readonly activeMs: number;
  private readonly quietMs: number;
  private readonly tracing: boolean;
  readonly config: string;
  readonly stats: MetaSimStats = {
    events: 0,
    elections: 0,
    metaCrashes: 0,
    partitions: 0,
    joins: 0,
    kills: 0,
    restarts: 0,
    evictions: 0,
    liveEvictions: 0,
    tables: 0,
    maxEpoch: 0,
    tablesReceived: 0,
    snapshots: 0,
  };

  constructor(private readonly opts: MetaSimOptions) {
    this.rnd = new SeededRandom(opts.seed);
    this.shape = drawShape(this.rnd);
    this.raftNet = new SimNetwork(this.clock, this.rnd);
    this.raftNet.faults.dropRate = this.shape.dropRate;
    this.raftNet.faults.duplicateRate = this.shape.duplicateRate;
    this.raftNet.faults.maxDelayMs = this.shape.maxDelayMs;
    this.clientNet = new SimNetwork(this.clock, this.rnd);
    this.clientNet.faults.maxDelayMs = 3;
    this.activeMs = opts.activeMs ?? 12_000;
    this.quietMs = opts.quietMs ?? LEASE_MS + 9_000;
    this.tracing = opts.trace ?? false;
    this.config = describeShape(this.shape);
  }

  private get now(): number {
    return this.clock.now;
  }

  /** Runs the whole simulation and returns what it found. */
  run(): MetaSimResult {
    const ids = Array.from({ length: this.shape.metaCount }, (_, i) => `m${i + 1}`);
    for (const id of ids) this.startMeta(id, ids);
    const initialServers = this.rnd.int(1, 3);
    for (let i = 0; i < initialServers; i++) this.joinServer();
    this.clock.after(this.shape.faultEveryMs, () => this.onFault());
    this.clock.after(this.shape.serverFaultEveryMs, () => this.onServerFault());
    this.clock.after(this.activeMs, () => this.onQuiet());
    this.stats.events = this.clock.runUntil(this.activeMs + this.quietMs);
    this.finalChecks();
    const { violations, config, stats, trace } = this;
    return { seed: this.opts.seed, violations, config, stats, trace };
  }

  private log(s: string): void {
    if (this.tracing) this.trace.push(`${String(this.now).padStart(6)}ms ${s}`);
  }

  private violation(s: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.now}ms ${s}`);
    this.log(`VIOLATION ${s}`);
  }

  // -------------------------------------------------------------------------------------------------------
  // Meta nodes: Raft cores driven as the RaftNode shell does (persist, send, apply, advance).

  private newRaw(n: SimMeta): RawNode {
    const snap = n.storage.snapshot();
    return new RawNode({
      id: n.id,
      storage: n.storage,
      random: new SeededRandom(this.rnd.int(0, 2 ** 31)),
      electionTick: 10,
      heartbeatTick: 1,
      applied: snap ? snap.meta.index : 0,
      bootstrapVoters: n.voters,
    });
  }

  private newDuties(): LeaderDuties {
    const s = this.shape;
    // As in MetaModule: the duties arrange through a HashRing configured with the cluster's slots and replicas.
    const ring = new HashRing({ slots: s.slotCount, replicas: s.replicas });
    return new LeaderDuties({
      leaseMs: LEASE_MS,
      suspectMs: SUSPECT_MS,
      warmupMs: s.warmupMs,
      takeoverGraceMs: TAKEOVER_GRACE_MS,
      slotCount: s.slotCount,
      replicas: s.replicas,
      arrange: (prev, live) => ring.arrange(prev, live),
    });
  }

  private newStateMachine(n: SimMeta): MetaStateMachine {
    return new MetaStateMachine((changes) => this.onApplied(n, changes));
  }

  private startMeta(id: NodeId, voters: NodeId[]): void {
    const n = {
      id,
      storage: new MemoryStorage(),
      raw: undefined,
      duties: this.newDuties(),
      gen: 0,
      fsyncPending: false,
      role: Role.Follower,
      leaderId: '',
      pending: new Map(),
      barrier: undefined,
      barrierSeq: 0,
      watchers: new Map(),
      voters,
    } as Omit<SimMeta, 'sm'> as SimMeta;
    n.sm = this.newStateMachine(n);
    this.metas.set(id, n);
    this.setMetaUp(id, true);
    n.raw = this.newRaw(n);
    this.scheduleTicks(n);
    this.pump(n);
  }

  private setMetaUp(id: NodeId, up: boolean): void {
    this.raftNet.setUp(id, up);
    this.clientNet.setUp(id, up);
  }

  /** Runs `fn` `delayMs` from now if meta `n` is still the same incarnation and up. */
  private atMeta(n: SimMeta, delayMs: number, fn: () => void): void {
    const gen = n.gen;
    this.clock.after(delayMs, () => {
      if (n.gen === gen && n.raw) fn();
    });
  }

  private scheduleTicks(n: SimMeta): void {
    const tick = () => {
      (n.raw as RawNode).tick();
      this.atMeta(n, TICK_MS, tick);
      this.pump(n);
    };
    const duty = () => {
      this.atMeta(n, DUTY_TICK_MS, duty);
      this.leaderDuties(n);
    };
    this.atMeta(n, TICK_MS, tick);
    this.atMeta(n, DUTY_TICK_MS, duty);
  }

  private crashMeta(n: SimMeta): void {
    if (!n.raw) return;
    this.stats.metaCrashes++;
    this.log(`CRASH meta ${n.id}`);
    // A crashed process resets its connections: every watch stream ends at its server at once.
    for (const [stream, w] of n.watchers) this.endAtServer(w.server, w.serverGen, stream, 1);
    this.setMetaUp(n.id, false);
    n.raw = undefined;
    n.gen++;
    n.fsyncPending = false;
    n.pending.clear();
    n.barrier = undefined;
    n.watchers.clear();
    n.role = Role.Follower;
    n.leaderId = '';
    n.duties = this.newDuties();
    const gen = n.gen;
    this.clock.after(this.rnd.int(100, 1_500), () => {
      if (n.gen === gen && !n.raw) this.restartMeta(n);
    });
  }

  private restartMeta(n: SimMeta): void {
    n.sm = this.newStateMachine(n);
    const snap = n.storage.snapshot();
    if (snap && snap.meta.index > 0) n.sm.restore(snap.data);
    this.setMetaUp(n.id, true);
    n.raw = this.newRaw(n);
    this.log(`RESTART meta ${n.id} from snapshot ${snap?.meta.index ?? 0}`);
    this.scheduleTicks(n);
    this.pump(n);
  }

  /** Takes the next Ready; it is handled after a simulated fsync (when it must sync). */
  private pump(n: SimMeta): void {
    const raw = n.raw;
    if (!raw || n.fsyncPending || !raw.hasReady()) return;
    const rd = raw.ready();
    n.fsyncPending = true;
    this.atMeta(n, rd.mustSync ? this.rnd.int(1, 3) : 0, () => this.handleReady(n, rd));
  }

  /** One Ready, handled by the library's `applyReady` (persist, send, apply, advance), as every driver does. */
  private handleReady(n: SimMeta, rd: Ready): void {
    applyReady(n.raw as RawNode, rd, {
      persist: (ready) => n.storage.persist(ready),
      send: (messages) => messages.forEach((m) => this.sendRaft(m)),
      apply: (ready) => this.applyReadyToMachine(n, ready),
    });
    n.fsyncPending = false;
    this.observeRole(n);
    this.maybeCatchUp(n);
    this.maybeSnapshot(n);
    this.pump(n);
  }

  private applyReadyToMachine(n: SimMeta, rd: Ready): void {
    if (rd.snapshot) {
      n.sm.restore(rd.snapshot.data);
      for (const idx of [...n.pending.keys()]) if (idx <= (rd.snapshot.meta.index ?? 0)) this.settle(n, idx);
    }
    for (const e of rd.committedEntries) {
      const before = n.sm.state.slotTable;
      n.sm.applyEntry(e.index, e.type === EntryType.Normal ? e.data : undefined);
      const after = n.sm.state.slotTable;
      if (after && after !== before) this.checkCommittedTable(n, after, before);
      this.settle(n, e.index);
    }
    for (const rs of rd.readStates) {
      if (n.barrier && new TextDecoder().decode(rs.context) === n.barrier.ctx) n.barrier.index = rs.index;
    }
  }

  private settle(n: SimMeta, index: number): void {
    const cmd = n.pending.get(index);
    if (!cmd) return;
    n.pending.delete(index);
    n.duties.settled(cmd);
  }

  private maybeSnapshot(n: SimMeta): void {
    const raw = n.raw;
    if (!raw) return;
    const applied = n.sm.appliedIndex;
    const snapIndex = n.storage.snapshot()?.meta.index ?? 0;
    if (applied - snapIndex < this.shape.snapEvery) return;
    const meta = raw.snapshotMetaAt(applied);
    if (!meta) return;
    n.storage.createSnapshot(applied, meta.conf, n.sm.snapshot());
    n.storage.compact(Math.max(applied - 2, n.storage.firstIndex() - 1));
    this.stats.snapshots++;
  }

  private leads(n: SimMeta): boolean {
    return n.raw?.role === Role.Leader && n.duties.state !== 'follower';
  }

  /** Leadership events as the shell reports them: elected → read barrier → caught up; deposed. */
  private observeRole(n: SimMeta): void {
    const raw = n.raw as RawNode;
    const role = raw.role;
    const leaderId = raw.leader;
    if (role === n.role && leaderId === n.leaderId) return;
    n.role = role;
    n.leaderId = leaderId;
    if (role === Role.Leader) {
      const prev = this.leadersByTerm.get(raw.term);
      if (prev !== undefined && prev !== n.id) this.violation(`two leaders in term ${raw.term}: ${prev} and ${n.id}`);
      this.leadersByTerm.set(raw.term, n.id);
      this.stats.elections++;
      this.log(`LEADER ${n.id} term ${raw.term}`);
      if (n.duties.state === 'follower') {
        n.duties.elected();
        this.startBarrier(n);
      }
      return;
    }
    if (n.duties.state !== 'follower') {
      this.log(`${n.id} deposed (leader now ${leaderId || 'unknown'})`);
      n.duties.deposed();
      n.barrier = undefined;
      n.pending.clear();
    }
    // WatchHub.redirectAll: every stream gets a NotLeader naming the leader, and ends.
    const error = notLeaderError(leaderId, 'meta leader changed');
    for (const [stream, w] of n.watchers) {
      this.streamSend(n, stream, { event: { $case: 'error', value: error } });
      this.endAtServer(w.server, w.serverGen, stream, w.lastDelivery - this.now + 1);
    }
    n.watchers.clear();
  }

  private startBarrier(n: SimMeta): void {
    n.barrier = { ctx: `${n.id}#${++n.barrierSeq}`, index: undefined, at: this.now };
    (n.raw as RawNode).readIndex(new TextEncoder().encode(n.barrier.ctx));
    this.pump(n);
  }

  private maybeCatchUp(n: SimMeta): void {
    const b = n.barrier;
    if (!b || b.index === undefined || n.sm.appliedIndex < b.index || n.duties.state !== 'catching-up') return;
    n.barrier = undefined;
    n.duties.caughtUp(n.sm.state, this.now);
    this.log(`${n.id} caught up at ${n.sm.appliedIndex}; leading`);
    for (const [stream, w] of n.watchers) if (!w.served) this.serveWatch(n, stream);
  }

  /** LeadershipService.tick: a barrier unanswered is asked again; a ready leader evicts and arranges. */
  private leaderDuties(n: SimMeta): void {
    const b = n.barrier;
    const catchingUp = n.raw?.role === Role.Leader && n.duties.state === 'catching-up';
    if (catchingUp && b && b.index === undefined && this.now - b.at >= BARRIER_RETRY_MS) this.startBarrier(n);
    if (!n.raw || !n.duties.ready || n.raw.role !== Role.Leader) return;
    for (const a of n.duties.tick(n.sm.state, this.now)) {
      if (a.kind === 'evict') this.onEviction(n, a.address);
      this.propose(n, a.cmd);
    }
  }

  private onEviction(n: SimMeta, address: string): void {
    const s = this.servers.get(address);
    this.stats.evictions++;
    this.log(`${n.id} evicts ${address}`);
    if (!s?.alive) return;
    this.stats.liveEvictions++;
    // Meta crashes and leader changes never cost a live server its registration. A partition may (its
    // heartbeats and watch stream were cut): its effects are over SETTLE_MS after it healed.
    if (this.now - this.lastPartitionAt > SETTLE_MS && this.now - s.since > LEASE_MS + 2_000) {
      this.violation(`${n.id} evicts live server ${address}; the last partition ended at ${this.lastPartitionAt} ms`);
    }
  }

  private propose(n: SimMeta, cmd: MetaCommand): void {
    const r = (n.raw as RawNode).propose(encodeMetaCommand(cmd));
    if (!r.ok) {
      n.duties.settled(cmd);
      return;
    }
    n.pending.set(r.index, cmd);
    this.pump(n);
  }

  /** WatchHub's 'applied' listener: every served stream gets the events of the change. */
  private onApplied(n: SimMeta, changes: MetaChange[]): void {
    const events = changeEvents(n.sm.state, changes, n.id);
    if (events.length === 0) return;
    for (const [stream, w] of n.watchers) if (w.served) for (const ev of events) this.streamSend(n, stream, ev);
  }

  /** Every committed table: the same on every node, valid for the data servers registered when applied. */
  private checkCommittedTable(n: SimMeta, table: SlotTable, prev: SlotTable | undefined): void {
    const json = JSON.stringify(table);
    const seen = this.committedTables.get(table.epoch);
    if (seen !== undefined) {
      if (seen !== json) this.violation(`${n.id} applied a different table for epoch ${table.epoch}`);
      return;
    }
    this.committedTables.set(table.epoch, json);
    this.stats.tables++;
    this.stats.maxEpoch = Math.max(this.stats.maxEpoch, table.epoch);
    const live = Object.keys(n.sm.state.dataNodes).sort();
    const problems = checkTable(table as never, live, { prev: prev as never });
    if (problems.length > 0) {
      const what = problems
        .slice(0, 3)
        .map((p) => `${p.code} ${p.message}`)
        .join('; ');
      this.violation(`table ${table.epoch} breaks checkTable: ${what}`);
    }
    this.log(`${n.id} applied table ${table.epoch} over [${live}]`);
  }

  private sendRaft(m: Message): void {
    this.raftNet.send(m.from, m.to, () => {
      const n = this.metas.get(m.to);
      if (!n?.raw) return;
      n.raw.step(m);
      this.pump(n);
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Meta's request handling (MetaService and WatchHub), on the simulated meta node.

  private answerHeartbeat(metaId: NodeId, req: HeartbeatRequest): HeartbeatResponse | undefined {
    const n = this.metas.get(metaId);
    if (!n?.raw) return undefined;
    if (!this.leads(n)) return notLeaderAnswer(n.raw.leader, LEASE_MS);
    const cluster = { slotCount: this.shape.slotCount, replicas: this.shape.replicas, hash: 'crc32c' };
    const refusal = refuseHeartbeat(req, cluster);
    if (refusal) return refusedAnswer(refusal, LEASE_MS);
    const register = n.duties.heartbeat(req.node as NodeInfo, n.sm.state, this.now);
    if (register) this.propose(n, register);
    const table = n.duties.ready ? n.sm.state.slotTable : undefined;
    return heartbeatAnswer(table, req.slotTableEpoch, n.id, LEASE_MS);
  }

  private acceptWatch(n: SimMeta, stream: number, s: SimServer, serverGen: number, request: WatchRequest): void {
    n.watchers.set(stream, { server: s.address, serverGen, request, served: false, lastDelivery: this.now });
    if (!this.leads(n)) {
      this.streamSend(n, stream, { event: { $case: 'error', value: notLeaderError((n.raw as RawNode).leader) } });
      this.endAtServer(s.address, serverGen, stream, 2);
      n.watchers.delete(stream);
      return;
    }
    n.duties.watchOpened(s.address);
    if (n.duties.ready) this.serveWatch(n, stream);
  }

  private serveWatch(n: SimMeta, stream: number): void {
    const w = n.watchers.get(stream);
    if (!w) return;
    w.served = true;
    for (const ev of initialWatchEvents(n.sm.state, w.request.slotTableEpoch, n.id)) this.streamSend(n, stream, ev);
  }

  /** One message on a watch stream: in order (one connection), lost only with the stream. */
  private streamSend(n: SimMeta, stream: number, ev: MetaEvent): void {
    const w = n.watchers.get(stream);
    if (!w) return;
    const at = Math.max(this.now + this.rnd.int(1, 3), w.lastDelivery);
    w.lastDelivery = at;
    this.clock.at(at, () => this.onStreamEvent(w.server, w.serverGen, stream, ev));
  }

  /** The meta side of a stream sees it close (its server died or the connection broke). */
  private endAtMeta(n: SimMeta, stream: number, delayMs: number): void {
    this.atMeta(n, delayMs, () => {
      const w = n.watchers.get(stream);
      if (!w) return;
      n.watchers.delete(stream);
      if (n.duties.state !== 'follower') n.duties.watchClosed(w.server, this.now);
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Data servers: the real MetaClient driver and core, through an I/O port on the simulated network.

  private metaAddressesFor(): NodeId[] {
    const ids = [...this.metas.keys()];
    const addressing = this.shape.addressing;
    const mode = addressing === 'mixed' ? this.rnd.pick(['all', 'shuffled', 'one'] as const) : addressing;
    if (mode === 'all') return ids;
    if (mode === 'one') return [this.rnd.pick(ids)];
    const out = [...ids];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.rnd.int(0, i);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  private nodeInfo(s: SimServer): NodeInfo {
    const processId = `${s.address}#${s.gen}`;
    const none = { startedAt: 0, httpAddress: '', syncAddress: '' };
    return { address: s.address, role: 'data', zone: 'z', dataCenter: 'dc', processId, ...none };
  }

  private joinServer(): void {
    const address = `10.0.0.${this.nextServer++}:9620`;
    const s = { address, metaAddresses: this.metaAddressesFor(), alive: false, gen: 0 } as SimServer;
    this.servers.set(address, s);
    this.stats.joins++;
    this.startServer(s);
  }

  private startServer(s: SimServer): void {
    s.alive = true;
    s.gen++;
    s.watch = undefined;
    s.held = 0;
    s.since = this.now;
    const sh = this.shape;
    const options = {
      metaAddresses: s.metaAddresses,
      node: this.nodeInfo(s),
      slotSettings: { slotCount: sh.slotCount, replicas: sh.replicas, hash: 'crc32c' },
      heartbeatIntervalMs: HEARTBEAT_MS,
      random: this.rnd,
    };
    s.client = new MetaClientDriver(options, this.clientPort(s));
    this.clientNet.setUp(s.address, true);
    for (const m of this.cutFromServers) this.clientNet.setCut(m, s.address, true);
    this.log(`START server ${s.address} (process ${s.gen}) metas [${s.metaAddresses}]`);
    s.client.start();
  }

  private killServer(s: SimServer): void {
    this.stats.kills++;
    this.log(`KILL server ${s.address}`);
    s.alive = false;
    this.clientNet.setUp(s.address, false);
    const w = s.watch;
    s.watch = undefined;
    const n = w && this.metas.get(w.meta);
    if (n && w) this.endAtMeta(n, w.stream, 1);
  }

  /**
   * The MetaClient's I/O port on the simulated network and clock, for one process of server `s`: nothing
   * reaches a process that was killed or replaced.
   */
  private clientPort(s: SimServer): MetaClientPort {
    const gen = s.gen;
    const live = () => s.alive && s.gen === gen;
    return {
      now: () => this.now,
      heartbeat: (address, request, answered, failed) => {
        if (!this.clientNet.isUp(address)) {
          // Nothing listens there (the process is down): the connection is refused at once.
          this.clock.after(1, () => live() && failed('refused'));
          return;
        }
        const handle = () => this.answerHeartbeat(address, request);
        const done = (res: HeartbeatResponse | undefined) => {
          if (!live()) return;
          if (!res) return failed('deadline exceeded');
          if (res.slotTable) this.checkSentTable(s, res.slotTable, 'heartbeat', request.slotTableEpoch);
          answered(res);
        };
        this.clientNet.call(s.address, address, handle, done, RPC_TIMEOUT_MS);
      },
      watch: (address, request, handlers) => this.openWatch(s, address, request, handlers),
      leave: () => undefined, // simulated servers are killed, never stopped gracefully
      timer: (atMs, fire) => {
        let armed = true;
        this.clock.at(atMs, () => armed && live() && fire());
        return () => (armed = false);
      },
      emit: (event) => {
        if (live() && event.name === 'slotTable') this.onTableEmitted(s, event.value);
      },
      log: (level, message, fields) => this.log(`${s.address} ${level}: ${message} ${JSON.stringify(fields)}`),
    };
  }

  private openWatch(s: SimServer, metaId: NodeId, request: WatchRequest, handlers: MetaWatchHandlers): () => void {
    const stream = this.nextStream++;
    const gen = s.gen;
    s.watch = { meta: metaId, stream, floor: request.slotTableEpoch, handlers };
    const cancel = () => {
      if (s.watch?.stream !== stream) return;
      s.watch = undefined;
      const n = this.metas.get(metaId);
      if (n) this.endAtMeta(n, stream, 1);
    };
    const n = this.metas.get(metaId);
    if (!n?.raw) {
      this.endAtServer(s.address, gen, stream, 1); // connection refused
      return cancel;
    }
    if (!this.clientNet.connected(s.address, metaId)) {
      this.endAtServer(s.address, gen, stream, RPC_TIMEOUT_MS);
      return cancel;
    }
    this.atMeta(n, this.rnd.int(1, 3), () => {
      if (!this.clientNet.connected(s.address, metaId)) return this.endAtServer(s.address, gen, stream, 1);
      if (!s.alive || s.gen !== gen || s.watch?.stream !== stream) return; // the client gave up on it
      this.acceptWatch(n, stream, s, gen, request);
    });
    return cancel;
  }

  private onStreamEvent(address: string, gen: number, stream: number, ev: MetaEvent): void {
    const s = this.servers.get(address);
    if (!s || !s.alive || s.gen !== gen || s.watch?.stream !== stream) return;
    const e = ev.event;
    if (e?.$case === 'slotTable') {
      this.checkSentTable(s, e.value, 'watch', s.watch.floor);
      s.watch.floor = Math.max(s.watch.floor, e.value.epoch);
    }
    s.watch.handlers.event(ev);
  }

  private endAtServer(address: string, gen: number, stream: number, delayMs: number): void {
    this.clock.after(Math.max(1, delayMs), () => {
      const s = this.servers.get(address);
      if (!s || !s.alive || s.gen !== gen || s.watch?.stream !== stream) return;
      const { handlers } = s.watch;
      s.watch = undefined;
      handlers.ended('stream closed');
    });
  }

  /**
   * A table meta sent reaches a server. It must be the committed table of its epoch, and newer than what meta
   * knew the server held: the epoch it sent with the heartbeat, or for a watch stream what it sent when
   * opening it and every table the stream delivered since.
   */
  private checkSentTable(s: SimServer, t: SlotTable, via: string, floor: number): void {
    this.stats.tablesReceived++;
    if (this.committedTables.get(t.epoch) !== JSON.stringify(t)) {
      this.violation(`server ${s.address} received table ${t.epoch} via ${via} that is not the committed one`);
    }
    if (t.epoch <= floor) {
      this.violation(`server ${s.address} received table ${t.epoch} via ${via}, not newer than ${floor}`);
    }
  }

  /** What the MetaClient tells its owner never goes back in epoch. */
  private onTableEmitted(s: SimServer, t: SlotTable): void {
    if (t.epoch <= s.held) {
      this.violation(`MetaClient of ${s.address} emitted table ${t.epoch} after ${s.held}: back in epoch`);
    }
    s.held = Math.max(s.held, t.epoch);
  }

  // -------------------------------------------------------------------------------------------------------
  // Faults.

  private onFault(): void {
    if (this.quiet) return;
    const sh = this.shape;
    this.clock.after(this.rnd.int(sh.faultEveryMs / 2, sh.faultEveryMs * 1.5), () => this.onFault());
    const r = this.rnd.next() * (sh.crashWeight + sh.partitionWeight + sh.healWeight);
    if (r < sh.crashWeight) this.crashSomeMeta();
    else if (r < sh.crashWeight + sh.partitionWeight) this.partition();
    else this.heal();
  }

  private crashSomeMeta(): void {
    const all = [...this.metas.values()];
    const leader = all.find((m) => m.raw?.role === Role.Leader);
    this.crashMeta(leader && this.rnd.chance(this.shape.leaderCrashBias) ? leader : this.rnd.pick(all));
  }

  private partition(): void {
    this.heal();
    this.partitionGen++;
    this.stats.partitions++;
    const ids = [...this.metas.keys()];
    if (this.rnd.chance(0.5)) {
      const victim = this.rnd.pick(ids);
      for (const id of ids) if (id !== victim) this.raftNet.setCut(victim, id, true);
      this.cutFromServers = this.rnd.chance(0.5) ? new Set([victim]) : new Set();
      this.log(`PARTITION isolate ${victim}${this.cutFromServers.size ? ' (from servers too)' : ''}`);
    } else {
      const side = new Map(ids.map((id) => [id, this.rnd.int(0, 1)]));
      for (const a of ids) {
        for (const b of ids) if (a < b && side.get(a) !== side.get(b)) this.raftNet.setCut(a, b, true);
      }
      this.cutFromServers = new Set();
      this.log(`PARTITION split ${ids.map((id) => `${id}:${side.get(id)}`).join(' ')}`);
    }
    for (const m of this.cutFromServers) for (const s of this.servers.keys()) this.clientNet.setCut(m, s, true);
    this.lastPartitionAt = this.now;
    this.breakCutStreams();
    const gen = this.partitionGen;
    this.clock.after(this.rnd.int(200, 3_000), () => {
      if (gen === this.partitionGen) this.heal();
    });
  }

  /** Streams to a meta cut from servers break (each side notices after a keepalive-like delay). */
  private breakCutStreams(): void {
    for (const id of this.cutFromServers) {
      const n = this.metas.get(id) as SimMeta;
      for (const [stream, w] of n.watchers) {
        this.endAtMeta(n, stream, this.rnd.int(100, 1_500));
        this.endAtServer(w.server, w.serverGen, stream, this.rnd.int(100, 1_500));
      }
    }
  }

  private heal(): void {
    if (this.raftNet.faults.cut.size > 0 || this.clientNet.faults.cut.size > 0) {
      this.log('HEAL');
      this.lastPartitionAt = this.now;
    }
    this.raftNet.faults.cut.clear();
    this.clientNet.faults.cut.clear();
    this.cutFromServers = new Set();
  }

  private onServerFault(): void {
    if (this.quiet) return;
    const every = this.shape.serverFaultEveryMs;
    this.clock.after(this.rnd.int(every / 2, every * 1.5), () => this.onServerFault());
    const all = [...this.servers.values()];
    const alive = all.filter((s) => s.alive);
    const dead = all.filter((s) => !s.alive);
    const r = this.rnd.int(0, 9);
    if ((r < 3 && all.length < 8) || alive.length === 0) this.joinServer();
    else if (r < 6 && alive.length > 1) this.killServer(this.rnd.pick(alive));
    else if (r < 9 && dead.length > 0) {
      this.stats.restarts++;
      this.startServer(this.rnd.pick(dead));
    }
  }

  private onQuiet(): void {
    this.quiet = true;
    this.log('QUIET: heal everything, restart crashed metas');
    this.heal();
    this.raftNet.faults.dropRate = 0;
    this.raftNet.faults.duplicateRate = 0;
    for (const n of this.metas.values()) if (!n.raw) this.restartMeta(n);
  }

  // -------------------------------------------------------------------------------------------------------
  // Final checks.

  private finalChecks(): void {
    const leaders = [...this.metas.values()].filter((n) => n.raw?.role === Role.Leader && n.duties.ready);
    if (leaders.length !== 1) {
      this.violation(`after the calm: ${leaders.length} ready leaders`);
      return;
    }
    const st = leaders[0].sm.state;
    const alive = [...this.servers.values()].filter((s) => s.alive);
    const registered = Object.keys(st.dataNodes).sort();
    const want = alive.map((s) => s.address).sort();
    if (JSON.stringify(registered) !== JSON.stringify(want)) {
      this.violation(`after the calm: registered [${registered}] but live [${want}]`);
    }
    for (const s of alive) {
      const n = st.dataNodes[s.address];
      if (n && n.processId !== this.nodeInfo(s).processId) {
        this.violation(`after the calm: ${s.address} registered with an old process`);
      }
    }
    const table = st.slotTable;
    if (!table) {
      if (alive.length > 0) this.violation('after the calm: no slot table');
      return;
    }
    const problems = checkTable(table as never, want);
    if (problems.length > 0) {
      const codes = problems
        .slice(0, 3)
        .map((p) => p.code)
        .join(', ');
      this.violation(`after the calm: final table ${table.epoch} invalid for live servers: ${codes}`);
    }
    for (const s of alive) {
      const held = s.client.core.slotTable?.epoch ?? 0;
      if (held !== table.epoch) {
        this.violation(`after the calm: ${s.address} holds table ${held}, leader has ${table.epoch}`);
      }
    }
    for (const n of this.metas.values()) {
      const epoch = n.sm.state.slotTable?.epoch;
      if (epoch !== table.epoch) {
        this.violation(`after the calm: meta ${n.id} applied table ${epoch}, leader ${table.epoch}`);
      }
    }
  }
}

/** Runs one seed. */
export function runMetaSimulation(opts: MetaSimOptions): MetaSimResult {
  return new MetaSimulation(opts).run();
}
