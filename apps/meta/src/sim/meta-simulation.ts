import type { NodeInfo, SlotTable } from '@sofareg/contracts';
import { checkTable } from '@sofareg/consistent-hash';
import { MemoryStorage, type Message, type NodeId, RawNode, type Ready, Role, SeededRandom } from '@sofareg/raft';
import { EventQueue } from '@sofareg/raft/testing';
import { MetaLeader } from '../core/meta-leader';
import type { MetaCommand } from '../core/meta-state';
import { MetaStateMachine, encodeMetaCommand } from '../meta-store';

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
  stats: {
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
  };
  trace: string[];
}

const LEASE_MS = 3_000;
const SUSPECT_MS = 1_500;
const TICK_MS = 50;
const LEADER_TICK_MS = 100;
const HEARTBEAT_MS = 1_000;
const RPC_TIMEOUT_MS = 2_000;
const TAKEOVER_GRACE_MS = 2_000;
/**
 * After a partition heals, how long a live server may still be evicted for it: streams cut by it close within
 * 1.5 s, a heartbeat sent into it fails after RPC_TIMEOUT_MS (and MetaClient then rotates), two more
 * heartbeats find the leader; the suspect grace runs meanwhile.
 */
const SETTLE_MS = 1_500 + RPC_TIMEOUT_MS + 2 * HEARTBEAT_MS + SUSPECT_MS;

type Ev =
  | { k: 'tick'; meta: NodeId; gen: number }
  | { k: 'ltick'; meta: NodeId; gen: number }
  | { k: 'msg'; m: Message }
  | { k: 'fsync'; meta: NodeId; gen: number; rd: Ready }
  | { k: 'restartMeta'; meta: NodeId; gen: number }
  | { k: 'beat'; server: string; gen: number }
  | { k: 'hb'; server: string; gen: number; meta: NodeId; node: NodeInfo; held: number }
  | { k: 'hbResp'; server: string; gen: number; ok: boolean; leader: NodeId; table?: SlotTable; held: number }
  | { k: 'hbFail'; server: string; gen: number }
  | { k: 'openWatch'; server: string; gen: number }
  | { k: 'watchReq'; server: string; gen: number; meta: NodeId; stream: number; held: number }
  | { k: 'watchEv'; server: string; gen: number; stream: number; table?: SlotTable; notLeader?: NodeId }
  | { k: 'watchClosedAtMeta'; meta: NodeId; metaGen: number; stream: number }
  | { k: 'watchClosedAtServer'; server: string; gen: number; stream: number }
  | { k: 'fault' }
  | { k: 'serverFault' }
  | { k: 'heal'; partition: number }
  | { k: 'quiet' };

interface SimMeta {
  id: NodeId;
  storage: MemoryStorage;
  raw: RawNode | undefined;
  sm: MetaStateMachine;
  leader: MetaLeader;
  gen: number;
  fsyncPending: boolean;
  role: Role;
  leaderId: NodeId;
  /** Proposals of this leader by log index, settled when that index is applied. */
  pending: Map<number, { term: number; cmd: MetaCommand }>;
  /** The read barrier of a new leader: its context and the index it must reach. */
  barrier: { ctx: string; index: number | undefined; at: number } | undefined;
  barrierSeq: number;
  /** Open watch streams (stream id → server), served or waiting for the catch-up. */
  watchers: Map<number, { server: string; serverGen: number; served: boolean; lastDelivery: number }>;
  bootstrap: NodeId[];
}

interface SimServer {
  address: string;
  alive: boolean;
  gen: number;
  hint: NodeId;
  target: number;
  held: number;
  /** The watch stream: its meta, and the newest epoch it sent or delivered. */
  stream: { id: number; meta: NodeId; floor: number } | undefined;
  watchPending: boolean;
  /** Process alive since (for the calm-phase eviction check). */
  since: number;
}

/**
 * A deterministic simulation of the meta cluster: Raft cores (`RawNode`, as the real shell drives them) whose
 * state machine is meta's own ({@link MetaStateMachine} over `applyMetaCommand`), the real leader logic
 * ({@link MetaLeader}: read barrier, leases, evictions, arrangement as compare-and-set), and data servers
 * modelled after `MetaClient` (heartbeat every second to the leader they know, follow NotLeader hints, one
 * watch stream to the leader). Seeded virtual time; faults: lossy and reordering Raft network, meta crashes
 * (losing unsynced writes) and partitions (isolating a meta from its peers, sometimes from servers too),
 * data servers joining, dying (kill -9: their watch stream closes at once) and restarting.
 *
 * Checked: every slot table a server receives is the committed table of that epoch and never older than one
 * it already holds; every committed table satisfies `checkTable` for the data servers registered when it was
 * applied and the table it replaced; and after the calm period: one leader, every live server registered,
 * every dead one evicted, the final table valid for the live servers and held by all of them. Throughout: no
 * live server is evicted for a meta crash or leader change (only a partition that cut it may cost it its
 * registration, within SETTLE_MS of healing).
 */
export class MetaSimulation {
  private readonly rnd: SeededRandom;
  private readonly q = new EventQueue<Ev>();
  private now = 0;
  private readonly metas = new Map<NodeId, SimMeta>();
  private readonly servers = new Map<string, SimServer>();
  private readonly violations: string[] = [];
  private readonly trace: string[] = [];
  private readonly leadersByTerm = new Map<number, NodeId>();
  /** The committed table of each epoch (JSON), from its first apply anywhere. */
  private readonly committedTables = new Map<number, string>();
  private groups: Map<string, number> | undefined;
  private cutFromServers = new Set<NodeId>();
  private partitionGen = 0;
  private lastPartitionAt = -Infinity;
  private quiet = false;
  private nextServer = 1;
  private nextStream = 1;

  private readonly metaCount: number;
  private readonly dropRate: number;
  private readonly maxDelay: number;
  private readonly faultEveryMs: number;
  private readonly serverFaultEveryMs: number;
  private readonly slotCount: number;
  private readonly replicas: number;
  private readonly warmupMs: number;
  private readonly snapEvery: number;
  private readonly activeMs: number;
  private readonly quietMs: number;
  private readonly tracing: boolean;
  readonly config: string;
  readonly stats: MetaSimResult['stats'] = {
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
    const r = this.rnd;
    this.metaCount = r.pick([1, 3, 3, 3, 5]);
    this.dropRate = r.pick([0, 0.01, 0.05]);
    this.maxDelay = r.pick([2, 5, 15]);
    this.faultEveryMs = r.pick([300, 800, 2_000]);
    this.serverFaultEveryMs = r.pick([400, 1_000, 2_500]);
    this.slotCount = r.pick([8, 16, 64]);
    this.replicas = r.pick([1, 2, 2, 3]);
    this.warmupMs = r.pick([0, 500, 1_000]);
    this.snapEvery = r.pick([5, 20, 1_000]);
    this.activeMs = opts.activeMs ?? 12_000;
    this.quietMs = opts.quietMs ?? LEASE_MS + 9_000;
    this.tracing = opts.trace ?? false;
    this.config =
      `metas=${this.metaCount} drop=${this.dropRate} delay≤${this.maxDelay}ms faultEvery=${this.faultEveryMs}ms ` +
      `serverFaultEvery=${this.serverFaultEveryMs}ms slots=${this.slotCount} replicas=${this.replicas} warmup=${this.warmupMs}ms snapEvery=${this.snapEvery}`;
  }

  /** Runs the whole simulation and returns what it found. */
  run(): MetaSimResult {
    const ids = Array.from({ length: this.metaCount }, (_, i) => `m${i + 1}`);
    for (const id of ids) this.startMeta(id, ids);
    const initialServers = this.rnd.int(1, 4);
    for (let i = 0; i < initialServers; i++) this.joinServer();
    this.q.push(this.faultEveryMs, { k: 'fault' });
    this.q.push(this.serverFaultEveryMs, { k: 'serverFault' });
    this.q.push(this.activeMs, { k: 'quiet' });
    const end = this.activeMs + this.quietMs;
    for (;;) {
      const next = this.q.pop();
      if (!next || next.at > end) break;
      this.now = next.at;
      this.stats.events++;
      this.handle(next.ev);
    }
    this.now = end;
    this.finalChecks();
    return { seed: this.opts.seed, violations: this.violations, config: this.config, stats: this.stats, trace: this.trace };
  }

  private log(s: string): void {
    if (this.tracing) this.trace.push(`${String(this.now).padStart(6)}ms ${s}`);
  }

  private violation(s: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.now}ms ${s}`);
    this.log(`VIOLATION ${s}`);
  }

  private handle(ev: Ev): void {
    switch (ev.k) {
      case 'tick':
        return this.onTick(ev.meta, ev.gen);
      case 'ltick':
        return this.onLeaderTick(ev.meta, ev.gen);
      case 'msg':
        return this.deliver(ev.m);
      case 'fsync': {
        const n = this.metas.get(ev.meta);
        if (n && n.gen === ev.gen) this.onFsync(n, ev.rd);
        return;
      }
      case 'restartMeta': {
        const n = this.metas.get(ev.meta);
        if (n && n.gen === ev.gen && !n.raw) this.restartMeta(n);
        return;
      }
      case 'beat':
        return this.onBeat(ev.server, ev.gen);
      case 'hb':
        return this.onHeartbeat(ev);
      case 'hbResp':
        return this.onHeartbeatResponse(ev);
      case 'hbFail': {
        const s = this.servers.get(ev.server);
        if (s && s.alive && s.gen === ev.gen) this.rotate(s);
        return;
      }
      case 'openWatch':
        return this.openWatch(ev.server, ev.gen);
      case 'watchReq':
        return this.onWatchRequest(ev);
      case 'watchEv':
        return this.onWatchEvent(ev);
      case 'watchClosedAtMeta': {
        const n = this.metas.get(ev.meta);
        if (!n || n.gen !== ev.metaGen) return;
        const w = n.watchers.get(ev.stream);
        if (!w) return;
        n.watchers.delete(ev.stream);
        if (n.leader.state !== 'follower') n.leader.watchClosed(w.server, this.now);
        return;
      }
      case 'watchClosedAtServer':
        return this.onWatchClosedAtServer(ev.server, ev.gen, ev.stream);
      case 'fault':
        return this.onFault();
      case 'serverFault':
        return this.onServerFault();
      case 'heal':
        if (ev.partition === this.partitionGen) this.heal();
        return;
      case 'quiet':
        return this.onQuiet();
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Meta nodes: Raft cores driven as the RaftNode shell does (persist, send, apply, advance).

  private newRaw(n: SimMeta): RawNode {
    const snap = n.storage.snapshot();
    return new RawNode({
      id: n.id,
      storage: n.storage,
      random: new SeededRandom(this.rnd.below(2 ** 31)),
      electionTick: 10,
      heartbeatTick: 1,
      applied: snap ? snap.meta.index : 0,
      bootstrapVoters: n.bootstrap,
    });
  }

  private newLeaderLogic(): MetaLeader {
    return new MetaLeader({ leaseMs: LEASE_MS, suspectMs: SUSPECT_MS, warmupMs: this.warmupMs, takeoverGraceMs: TAKEOVER_GRACE_MS, slotCount: this.slotCount, replicas: this.replicas });
  }

  private startMeta(id: NodeId, voters: NodeId[]): void {
    const n: SimMeta = {
      id,
      storage: new MemoryStorage(),
      raw: undefined,
      sm: new MetaStateMachine((changes) => this.onApplied(n, changes.map((c) => c.kind))),
      leader: this.newLeaderLogic(),
      gen: 0,
      fsyncPending: false,
      role: Role.Follower,
      leaderId: '',
      pending: new Map(),
      barrier: undefined,
      barrierSeq: 0,
      watchers: new Map(),
      bootstrap: voters,
    };
    this.metas.set(id, n);
    n.raw = this.newRaw(n);
    this.scheduleTicks(n);
    this.pump(n);
  }

  private scheduleTicks(n: SimMeta): void {
    this.q.push(this.now + TICK_MS, { k: 'tick', meta: n.id, gen: n.gen });
    this.q.push(this.now + LEADER_TICK_MS, { k: 'ltick', meta: n.id, gen: n.gen });
  }

  private crashMeta(n: SimMeta): void {
    if (!n.raw) return;
    this.stats.metaCrashes++;
    this.log(`CRASH meta ${n.id}`);
    for (const [stream, w] of n.watchers) this.closeAtServer(w.server, w.serverGen, stream, 1);
    n.raw = undefined;
    n.gen++;
    n.fsyncPending = false;
    n.pending.clear();
    n.barrier = undefined;
    n.watchers.clear();
    n.role = Role.Follower;
    n.leaderId = '';
    n.leader = this.newLeaderLogic();
    this.q.push(this.now + this.rnd.int(100, 1_500), { k: 'restartMeta', meta: n.id, gen: n.gen });
  }

  private restartMeta(n: SimMeta): void {
    n.sm = new MetaStateMachine((changes) => this.onApplied(n, changes.map((c) => c.kind)));
    const snap = n.storage.snapshot();
    if (snap && snap.meta.index > 0) n.sm.restore(snap.data);
    n.raw = this.newRaw(n);
    this.log(`RESTART meta ${n.id} from snapshot ${snap?.meta.index ?? 0}`);
    this.scheduleTicks(n);
    this.pump(n);
  }

  private onTick(id: NodeId, gen: number): void {
    const n = this.metas.get(id);
    if (!n || n.gen !== gen || !n.raw) return;
    n.raw.tick();
    this.q.push(this.now + TICK_MS, { k: 'tick', meta: id, gen });
    this.pump(n);
  }

  private pump(n: SimMeta): void {
    const raw = n.raw;
    if (!raw || n.fsyncPending || !raw.hasReady()) return;
    const rd = raw.ready();
    n.fsyncPending = true;
    this.q.push(this.now + (rd.mustSync ? this.rnd.int(1, 3) : 0), { k: 'fsync', meta: n.id, gen: n.gen, rd });
  }

  private onFsync(n: SimMeta, rd: Ready): void {
    const raw = n.raw;
    if (!raw) return;
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    for (const m of rd.messages) this.send(m);
    if (rd.snapshot) {
      n.sm.restore(rd.snapshot.data);
      for (const idx of [...n.pending.keys()]) if (idx <= rd.snapshot.meta.index) this.settle(n, idx, undefined);
    }
    for (const e of rd.committedEntries) {
      const before = n.sm.state.slotTable;
      n.sm.apply(e);
      const after = n.sm.state.slotTable;
      if (after && after !== before) this.checkCommittedTable(n, after, before);
      this.settle(n, e.index, e.term);
    }
    for (const rs of rd.readStates) {
      if (n.barrier && new TextDecoder().decode(rs.context) === n.barrier.ctx) n.barrier.index = rs.index;
    }
    raw.advance(rd);
    n.fsyncPending = false;
    this.observeRole(n);
    this.maybeCatchUp(n);
    this.maybeSnapshot(n);
    this.pump(n);
  }

  private settle(n: SimMeta, index: number, term: number | undefined): void {
    const p = n.pending.get(index);
    if (!p) return;
    n.pending.delete(index);
    void term;
    n.leader.settled(p.cmd);
  }

  private maybeSnapshot(n: SimMeta): void {
    const raw = n.raw;
    if (!raw) return;
    const applied = n.sm.appliedIndex;
    const snapIndex = n.storage.snapshot()?.meta.index ?? 0;
    if (applied - snapIndex < this.snapEvery) return;
    const meta = raw.snapshotMetaAt(applied);
    if (!meta) return;
    n.storage.createSnapshot(applied, meta.conf, n.sm.snapshot());
    n.storage.compact(Math.max(applied - 2, n.storage.firstIndex() - 1));
    this.stats.snapshots++;
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
      if (n.leader.state === 'follower') {
        n.leader.elected();
        this.startBarrier(n);
      }
      return;
    }
    if (n.leader.state !== 'follower') {
      this.log(`${n.id} deposed (leader now ${leaderId || 'unknown'})`);
      n.leader.deposed();
      n.barrier = undefined;
      n.pending.clear();
    }
    for (const [stream, w] of n.watchers) {
      this.streamSend(n, stream, { notLeader: leaderId });
      this.closeAtServer(w.server, w.serverGen, stream, w.lastDelivery - this.now + 1);
    }
    n.watchers.clear();
  }

  /** A read barrier; retried when unanswered (its heartbeats may be lost), as the shell's timeout does. */
  private startBarrier(n: SimMeta): void {
    n.barrier = { ctx: `${n.id}#${++n.barrierSeq}`, index: undefined, at: this.now };
    (n.raw as RawNode).readIndex(new TextEncoder().encode(n.barrier.ctx));
    this.pump(n);
  }

  private maybeCatchUp(n: SimMeta): void {
    const b = n.barrier;
    if (!b || b.index === undefined || n.sm.appliedIndex < b.index || n.leader.state !== 'catching-up') return;
    n.barrier = undefined;
    n.leader.caughtUp(n.sm.state, this.now);
    this.log(`${n.id} caught up at ${n.sm.appliedIndex}; leading`);
    for (const [stream, w] of n.watchers) {
      if (!w.served) this.serveWatch(n, stream);
    }
  }

  private onLeaderTick(id: NodeId, gen: number): void {
    const n = this.metas.get(id);
    if (!n || n.gen !== gen || !n.raw) return;
    this.q.push(this.now + LEADER_TICK_MS, { k: 'ltick', meta: id, gen });
    this.leaderTick(n);
  }

  private leaderTick(n: SimMeta): void {
    if (n.raw?.role === Role.Leader && n.leader.state === 'catching-up' && n.barrier && n.barrier.index === undefined && this.now - n.barrier.at >= 500) {
      this.startBarrier(n);
    }
    if (!n.raw || !n.leader.ready || n.raw.role !== Role.Leader) return;
    for (const a of n.leader.tick(n.sm.state, this.now)) {
      if (a.kind === 'evict') {
        const s = this.servers.get(a.address);
        this.stats.evictions++;
        if (s?.alive) {
          this.stats.liveEvictions++;
          // Meta crashes and leader changes never cost a live server its registration. A partition may (its
          // heartbeats and watch stream were cut): its effects are over SETTLE_MS after it healed.
          if (this.now - this.lastPartitionAt > SETTLE_MS && this.now - s.since > LEASE_MS + 2_000) {
            this.violation(`${n.id} evicts live server ${a.address}; the last partition ended at ${this.lastPartitionAt} ms`);
          }
        }
        this.log(`${n.id} evicts ${a.address}`);
      }
      this.propose(n, a.cmd);
    }
  }

  private propose(n: SimMeta, cmd: MetaCommand): void {
    const raw = n.raw as RawNode;
    const r = raw.propose(encodeMetaCommand(cmd));
    if (!r.ok) {
      n.leader.settled(cmd);
      return;
    }
    n.pending.set(r.index, { term: r.term, cmd });
    this.pump(n);
  }

  private onApplied(n: SimMeta, kinds: string[]): void {
    if (kinds.includes('slotTable') && n.sm.state.slotTable) {
      const t = n.sm.state.slotTable;
      for (const [stream, w] of n.watchers) if (w.served) this.streamSend(n, stream, { table: t });
    }
  }

  /** Every committed table: the same on every node, valid for the data servers registered when applied. */
  private checkCommittedTable(n: SimMeta, table: SlotTable, prev: SlotTable | undefined): void {
    const json = JSON.stringify(table);
    const seen = this.committedTables.get(table.epoch);
    if (seen === undefined) {
      this.committedTables.set(table.epoch, json);
      this.stats.tables++;
      this.stats.maxEpoch = Math.max(this.stats.maxEpoch, table.epoch);
      const live = Object.keys(n.sm.state.dataNodes).sort();
      const problems = checkTable(table as never, live, { prev: prev as never });
      if (problems.length > 0) this.violation(`table ${table.epoch} breaks checkTable: ${problems.slice(0, 3).map((p) => `${p.code} ${p.message}`).join('; ')}`);
      this.log(`${n.id} applied table ${table.epoch} over [${live}]`);
    } else if (seen !== json) {
      this.violation(`${n.id} applied a different table for epoch ${table.epoch}`);
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Networks.

  private metaLink(a: NodeId, b: NodeId): boolean {
    if (!this.groups) return true;
    return (this.groups.get(a) ?? -1) === (this.groups.get(b) ?? -1);
  }

  /** Whether a server can reach meta node `m` (a meta isolated with its clients cut is unreachable). */
  private serverLink(m: NodeId): boolean {
    return !this.cutFromServers.has(m);
  }

  private send(m: Message): void {
    if (!this.quiet && this.rnd.chance(this.dropRate)) return;
    this.q.push(this.now + this.rnd.int(1, this.maxDelay), { k: 'msg', m });
  }

  private deliver(m: Message): void {
    const n = this.metas.get(m.to);
    if (!n?.raw || !this.metaLink(m.from, m.to)) return;
    n.raw.step(m);
    this.pump(n);
  }

  private rpcDelay(): number {
    return this.rnd.int(1, 3);
  }

  // -------------------------------------------------------------------------------------------------------
  // Data servers, modelled after MetaClient.

  private joinServer(): void {
    const address = `10.0.0.${this.nextServer++}:9620`;
    const s: SimServer = { address, alive: false, gen: 0, hint: '', target: this.rnd.below(this.metaCount), held: 0, stream: undefined, watchPending: false, since: 0 };
    this.servers.set(address, s);
    this.stats.joins++;
    this.startServer(s);
  }

  private startServer(s: SimServer): void {
    s.alive = true;
    s.gen++;
    s.hint = '';
    s.held = 0;
    s.stream = undefined;
    s.watchPending = false;
    s.since = this.now;
    this.log(`START server ${s.address} (process ${s.gen})`);
    this.q.push(this.now, { k: 'beat', server: s.address, gen: s.gen });
    this.q.push(this.now, { k: 'openWatch', server: s.address, gen: s.gen });
  }

  private killServer(s: SimServer): void {
    this.stats.kills++;
    this.log(`KILL server ${s.address}`);
    s.alive = false;
    const st = s.stream;
    s.stream = undefined;
    if (st) {
      const n = this.metas.get(st.meta);
      if (n?.raw) this.q.push(this.now + 1, { k: 'watchClosedAtMeta', meta: n.id, metaGen: n.gen, stream: st.id });
    }
  }

  private metaIds(): NodeId[] {
    return [...this.metas.keys()];
  }

  private addressOf(s: SimServer): NodeId {
    return s.hint || this.metaIds()[s.target % this.metaCount];
  }

  private rotate(s: SimServer): void {
    s.hint = '';
    s.target++;
  }

  private nodeInfo(s: SimServer): NodeInfo {
    return { address: s.address, role: 'data', zone: 'z', dataCenter: 'dc', processId: `${s.address}#${s.gen}`, startedAt: 0, httpAddress: '', syncAddress: '' };
  }

  private onBeat(address: string, gen: number): void {
    const s = this.servers.get(address);
    if (!s || !s.alive || s.gen !== gen) return;
    this.q.push(this.now + HEARTBEAT_MS, { k: 'beat', server: address, gen });
    const meta = this.addressOf(s);
    const n = this.metas.get(meta);
    if (!this.serverLink(meta)) {
      this.q.push(this.now + RPC_TIMEOUT_MS, { k: 'hbFail', server: address, gen });
      return;
    }
    if (!n?.raw) {
      this.q.push(this.now + 1, { k: 'hbFail', server: address, gen });
      return;
    }
    this.q.push(this.now + this.rpcDelay(), { k: 'hb', server: address, gen, meta, node: this.nodeInfo(s), held: s.held });
  }

  /** MetaService.heartbeat, on the simulated meta node. */
  private onHeartbeat(ev: Extract<Ev, { k: 'hb' }>): void {
    const n = this.metas.get(ev.meta);
    const reply = (r: Omit<Extract<Ev, { k: 'hbResp' }>, 'k' | 'server' | 'gen' | 'held'>) =>
      this.q.push(this.now + this.rpcDelay(), { k: 'hbResp', server: ev.server, gen: ev.gen, held: ev.held, ...r });
    if (!n?.raw || !this.serverLink(n.id)) return;
    if (n.raw.role !== Role.Leader || n.leader.state === 'follower') {
      reply({ ok: false, leader: n.raw.leader });
      return;
    }
    const register = n.leader.heartbeat(ev.node, n.sm.state, this.now);
    if (register) this.propose(n, register);
    const table = n.leader.ready ? n.sm.state.slotTable : undefined;
    reply({ ok: true, leader: n.id, table: table && table.epoch > ev.held ? table : undefined });
  }

  private onHeartbeatResponse(ev: Extract<Ev, { k: 'hbResp' }>): void {
    const s = this.servers.get(ev.server);
    if (!s || !s.alive || s.gen !== ev.gen) return;
    if (!ev.ok) {
      s.hint = ev.leader;
      if (!s.hint) this.rotate(s);
      return;
    }
    s.hint = ev.leader;
    if (ev.table) this.receiveTable(s, ev.table, 'heartbeat', ev.held);
  }

  /**
   * A table reaches a server. It must be the committed table of its epoch, and newer than what meta knew the
   * server held: the epoch it sent with the heartbeat, or for a watch stream what it sent when opening it and
   * every table the stream delivered since. (A heartbeat answer and a stream message can cross, so the
   * server keeps the newest, as MetaClient does.)
   */
  private receiveTable(s: SimServer, t: SlotTable, via: string, floor: number): void {
    this.stats.tablesReceived++;
    const committed = this.committedTables.get(t.epoch);
    if (committed !== JSON.stringify(t)) this.violation(`server ${s.address} received table ${t.epoch} via ${via} that is not the committed one`);
    if (t.epoch <= floor) this.violation(`server ${s.address} received table ${t.epoch} via ${via}, not newer than ${floor} it already had: back in epoch`);
    if (t.epoch > s.held) s.held = t.epoch;
  }

  private openWatch(address: string, gen: number): void {
    const s = this.servers.get(address);
    if (!s || !s.alive || s.gen !== gen || s.stream) return;
    s.watchPending = false;
    const meta = this.addressOf(s);
    const stream = this.nextStream++;
    s.stream = { id: stream, meta, floor: s.held };
    const n = this.metas.get(meta);
    if (!n?.raw) {
      this.closeAtServer(address, gen, stream, 1);
      return;
    }
    if (!this.serverLink(meta)) {
      this.closeAtServer(address, gen, stream, RPC_TIMEOUT_MS);
      return;
    }
    this.q.push(this.now + this.rpcDelay(), { k: 'watchReq', server: address, gen, meta, stream, held: s.held });
  }

  /** MetaService.watch, on the simulated meta node. */
  private onWatchRequest(ev: Extract<Ev, { k: 'watchReq' }>): void {
    const n = this.metas.get(ev.meta);
    if (!n?.raw || !this.serverLink(ev.meta)) {
      this.closeAtServer(ev.server, ev.gen, ev.stream, 1);
      return;
    }
    const s = this.servers.get(ev.server);
    if (!s || !s.alive || s.gen !== ev.gen || s.stream?.id !== ev.stream) return; // the client gave up on it
    n.watchers.set(ev.stream, { server: ev.server, serverGen: ev.gen, served: false, lastDelivery: this.now });
    if (n.raw.role !== Role.Leader || n.leader.state === 'follower') {
      this.streamSend(n, ev.stream, { notLeader: n.raw.leader });
      this.closeAtServer(ev.server, ev.gen, ev.stream, 2);
      n.watchers.delete(ev.stream);
      return;
    }
    n.leader.watchOpened(ev.server);
    if (n.leader.ready) this.serveWatch(n, ev.stream, ev.held);
  }

  private serveWatch(n: SimMeta, stream: number, held?: number): void {
    const w = n.watchers.get(stream);
    if (!w) return;
    w.served = true;
    const t = n.sm.state.slotTable;
    const have = held ?? this.servers.get(w.server)?.held ?? 0;
    if (t && t.epoch > have) this.streamSend(n, stream, { table: t });
  }

  /** One message on a watch stream: in order (TCP), lost only with the stream. */
  private streamSend(n: SimMeta, stream: number, body: { table?: SlotTable; notLeader?: NodeId }): void {
    const w = n.watchers.get(stream);
    if (!w) return;
    const at = Math.max(this.now + this.rpcDelay(), w.lastDelivery);
    w.lastDelivery = at;
    this.q.push(at, { k: 'watchEv', server: w.server, gen: w.serverGen, stream, ...body });
  }

  private onWatchEvent(ev: Extract<Ev, { k: 'watchEv' }>): void {
    const s = this.servers.get(ev.server);
    if (!s || !s.alive || s.gen !== ev.gen || s.stream?.id !== ev.stream) return;
    if (ev.notLeader !== undefined) {
      s.hint = ev.notLeader;
      return;
    }
    if (ev.table) {
      this.receiveTable(s, ev.table, 'watch', s.stream.floor);
      s.stream.floor = Math.max(s.stream.floor, ev.table.epoch);
    }
  }

  private closeAtServer(address: string, gen: number, stream: number, afterMs: number): void {
    this.q.push(this.now + Math.max(1, afterMs), { k: 'watchClosedAtServer', server: address, gen, stream });
  }

  private onWatchClosedAtServer(address: string, gen: number, stream: number): void {
    const s = this.servers.get(address);
    if (!s || !s.alive || s.gen !== gen || s.stream?.id !== stream) return;
    s.stream = undefined;
    // MetaClient: every end of the stream rotates (even after NotLeader named the leader: the heartbeat's
    // answer sets the hint again), then reopens after 200-400 ms.
    this.rotate(s);
    if (!s.watchPending) {
      s.watchPending = true;
      this.q.push(this.now + this.rnd.int(200, 400), { k: 'openWatch', server: address, gen });
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Faults.

  private onFault(): void {
    if (this.quiet) return;
    this.q.push(this.now + this.rnd.int(this.faultEveryMs / 2, this.faultEveryMs * 1.5), { k: 'fault' });
    const ids = this.metaIds();
    const r = this.rnd.below(10);
    if (r < 3) {
      const n = this.metas.get(this.rnd.pick(ids)) as SimMeta;
      // Prefer the leader: that is the interesting crash.
      const leader = ids.map((id) => this.metas.get(id) as SimMeta).find((m) => m.raw?.role === Role.Leader);
      this.crashMeta(leader && this.rnd.chance(0.6) ? leader : n);
    } else if (r < 7) {
      this.partitionGen++;
      this.stats.partitions++;
      const groups = new Map<string, number>();
      if (this.rnd.chance(0.5)) {
        const victim = this.rnd.pick(ids);
        for (const id of ids) groups.set(id, id === victim ? 1 : 0);
        this.cutFromServers = this.rnd.chance(0.5) ? new Set([victim]) : new Set();
        this.log(`PARTITION isolate ${victim}${this.cutFromServers.size ? ' (from servers too)' : ''}`);
      } else {
        for (const id of ids) groups.set(id, this.rnd.below(2));
        this.cutFromServers = new Set();
        this.log(`PARTITION split ${ids.map((id) => `${id}:${groups.get(id)}`).join(' ')}`);
      }
      this.groups = groups;
      this.lastPartitionAt = this.now;
      this.breakCutStreams();
      this.q.push(this.now + this.rnd.int(200, 3_000), { k: 'heal', partition: this.partitionGen });
    } else {
      this.heal();
    }
  }

  /** Streams to a meta cut from servers break (each side notices after a keepalive-like delay). */
  private breakCutStreams(): void {
    for (const id of this.cutFromServers) {
      const n = this.metas.get(id) as SimMeta;
      for (const [stream, w] of n.watchers) {
        this.q.push(this.now + this.rnd.int(100, 1_500), { k: 'watchClosedAtMeta', meta: n.id, metaGen: n.gen, stream });
        this.closeAtServer(w.server, w.serverGen, stream, this.rnd.int(100, 1_500));
      }
    }
  }

  private heal(): void {
    if (this.groups) {
      this.log('HEAL');
      this.lastPartitionAt = this.now;
    }
    this.groups = undefined;
    this.cutFromServers = new Set();
  }

  private onServerFault(): void {
    if (this.quiet) return;
    this.q.push(this.now + this.rnd.int(this.serverFaultEveryMs / 2, this.serverFaultEveryMs * 1.5), { k: 'serverFault' });
    const all = [...this.servers.values()];
    const alive = all.filter((s) => s.alive);
    const dead = all.filter((s) => !s.alive);
    const r = this.rnd.below(10);
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
    for (const n of this.metas.values()) {
      if (!n.raw) this.restartMeta(n);
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Final checks.

  private finalChecks(): void {
    const leaders = [...this.metas.values()].filter((n) => n.raw?.role === Role.Leader && n.leader.ready);
    if (leaders.length !== 1) {
      this.violation(`after the calm: ${leaders.length} ready leaders`);
      return;
    }
    const leader = leaders[0];
    const st = leader.sm.state;
    const alive = [...this.servers.values()].filter((s) => s.alive);
    const registered = Object.keys(st.dataNodes).sort();
    const want = alive.map((s) => s.address).sort();
    if (JSON.stringify(registered) !== JSON.stringify(want)) this.violation(`after the calm: registered [${registered}] but live [${want}]`);
    for (const s of alive) {
      const n = st.dataNodes[s.address];
      if (n && n.processId !== this.nodeInfo(s).processId) this.violation(`after the calm: ${s.address} registered with an old process`);
    }
    const table = st.slotTable;
    if (!table) {
      if (alive.length > 0) this.violation('after the calm: no slot table');
      return;
    }
    const problems = checkTable(table as never, want);
    if (problems.length > 0) this.violation(`after the calm: final table ${table.epoch} invalid for live servers: ${problems.slice(0, 3).map((p) => p.code).join(', ')}`);
    for (const s of alive) if (s.held !== table.epoch) this.violation(`after the calm: ${s.address} holds table ${s.held}, leader has ${table.epoch}`);
    for (const n of this.metas.values()) {
      if (n.sm.state.slotTable?.epoch !== table.epoch) this.violation(`after the calm: meta ${n.id} applied table ${n.sm.state.slotTable?.epoch}, leader ${table.epoch}`);
    }
  }
}

/** Runs one seed. */
export function runMetaSimulation(opts: MetaSimOptions): MetaSimResult {
  return new MetaSimulation(opts).run();
}

