import {
  ConfChangeType,
  EntryType,
  MemoryStorage,
  type Message,
  MessageType,
  type NodeId,
  RawNode,
  ReadOnlyOption,
  type Ready,
  Role,
  applyReady,
  decodeConfChange,
} from '@sofareg/raft';
import { KvStateMachine, describeMessage } from '@sofareg/raft/testing';
import { SeededRandom, SimClock, SimNetwork } from '../kernel';
import { type KvInput, type KvOutput, kvModel } from './kv-model';
import { type Operation, checkLinearizable } from './linearizability';
import { type SwarmConfig, describeSwarm, drawSwarm } from './swarm';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Knobs of one simulated run. Everything not given is drawn from the seed. */
export interface SimOptions {
  seed: number;
  /** Virtual milliseconds of faults and client load. Default 3,000. */
  activeMs?: number;
  /** Virtual milliseconds of calm at the end (everything healed and restarted) before the final checks. */
  quietMs?: number;
  /** Record a human-readable trace of every event. */
  trace?: boolean;
}

/** What a run found. */
export interface SimResult {
  seed: number;
  violations: string[];
  /** The linearizability search gave up: the history was neither proven linearizable nor refuted. */
  linearizabilityGaveUp: boolean;
  stats: {
    events: number;
    messages: number;
    elections: number;
    crashes: number;
    partitions: number;
    leaderHits: number;
    snapshots: number;
    snapshotsSent: number;
    confChanges: number;
    transfers: number;
    opsOk: number;
    opsUnknown: number;
    reads: number;
    maxTerm: number;
    committed: number;
  };
  trace: string[];
  /** A one-line description of the seed's configuration. */
  config: string;
}

type ClientResp = { kind: 'retry'; leader: NodeId } | { kind: 'done'; output: KvOutput };

interface SimNode {
  id: NodeId;
  storage: MemoryStorage;
  raw: RawNode | undefined;
  kv: KvStateMachine;
  /** Incarnation: events scheduled for an earlier one (before a crash) are ignored. */
  epoch: number;
  fsyncPending: boolean;
  pendingWrites: Map<number, { term: number; client: number; opId: string }>;
  pendingReads: Map<string, { client: number; opId: string; key: string; index: number | undefined }>;
  /** Initial members pass the bootstrap list on every start (it is ignored once storage holds state). */
  bootstrap: NodeId[] | undefined;
  /** Removed from the cluster and shut down for good, as an operator would. */
  retired: boolean;
}

interface ClientOp {
  opId: string;
  input: KvInput;
  call: number;
  attempt: number;
}

interface Client {
  id: number;
  seq: number;
  current: ClientOp | undefined;
  leaderHint: NodeId;
}

const TICK_MS = 10;
const ELECTION_TICK = 10;
const HEARTBEAT_TICK = 2;
/** Budget of the linearizability search per run; a run that exhausts it "gives up" (counted by callers). */
const LINEARIZABILITY_STEPS = 500_000;
/** How long after the calm the cluster may take to settle before that is a liveness violation. */
const SETTLE_GRACE_MS = 5_000;

/**
 * One deterministic run of a Raft cluster of real {@link RawNode}s on the simulation kernel: seeded virtual
 * time, a lossy, reordering, duplicating, partitionable network, crashes that lose unsynced writes, leaders cut
 * off while their entries are partly replicated, snapshots, membership changes, leadership transfers, and
 * clients doing put/get/cas against a replicated {@link KvStateMachine} (reads via ReadIndex). Which faults are
 * on, and how often, is drawn per seed ({@link drawSwarm}). Checks election safety, log matching, leader
 * completeness, state machine safety, replica convergence, liveness after calm and linearizability of the
 * client history. An exception thrown by the core is a violation too.
 */
export class Simulation {
  private readonly rnd: SeededRandom;
  private readonly clock = new SimClock();
  private readonly net: SimNetwork;
  private readonly nodes = new Map<NodeId, SimNode>();
  private nextNodeNum = 1;
  private readonly clients: Client[] = [];
  private readonly history: Operation<KvInput, KvOutput>[] = [];
  private readonly violations: string[] = [];
  private readonly trace: string[] = [];
  private readonly leaders = new Map<number, NodeId>();
  /** index → term and data of the entry applied there by anyone. */
  private readonly applied = new Map<number, { term: number; data: string }>();
  private partitionGen = 0;
  private quiet = false;
  private ended = false;
  private readonly writtenValues: string[] = [];
  /** When each client write (by id) was first applied by any replica, and its result. */
  private readonly firstApply = new Map<string, { at: number; ok: boolean }>();
  /** History index of each timed-out write, by op id. */
  private readonly unknownOps = new Map<string, number>();

  private readonly swarm: SwarmConfig;
  private readonly keys: string[];
  private readonly activeMs: number;
  private readonly quietMs: number;
  private readonly tracing: boolean;
  readonly config: string;

  readonly stats: SimResult['stats'] = {
    events: 0,
    messages: 0,
    elections: 0,
    crashes: 0,
    partitions: 0,
    leaderHits: 0,
    snapshots: 0,
    snapshotsSent: 0,
    confChanges: 0,
    transfers: 0,
    opsOk: 0,
    opsUnknown: 0,
    reads: 0,
    maxTerm: 0,
    committed: 0,
  };

  constructor(private readonly opts: SimOptions) {
    this.rnd = new SeededRandom(opts.seed);
    this.swarm = drawSwarm(this.rnd);
    this.net = new SimNetwork(this.clock, this.rnd);
    this.net.faults.dropRate = this.swarm.dropRate;
    this.net.faults.duplicateRate = this.swarm.dupRate;
    this.net.faults.maxDelayMs = this.swarm.maxDelayMs;
    this.keys = ['a', 'b', 'c'].slice(0, this.swarm.keys);
    this.activeMs = opts.activeMs ?? 3000;
    this.quietMs = opts.quietMs ?? 1500;
    this.tracing = opts.trace ?? false;
    this.config = describeSwarm(this.swarm);
  }

  private get now(): number {
    return this.clock.now;
  }

  private log(s: string): void {
    if (this.tracing) this.trace.push(`${String(this.now).padStart(6)}ms ${s}`);
  }

  private violation(s: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.now}ms ${s}`);
    this.log(`VIOLATION ${s}`);
  }

  /** `run`, counted as an event; whatever it throws (the core's invariant checks) is a violation. */
  private guarded(run: () => void): () => void {
    return () => {
      this.stats.events++;
      try {
        run();
      } catch (e) {
        this.violation(`exception: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    };
  }

  private after(delayMs: number, run: () => void): void {
    this.clock.after(delayMs, this.guarded(run));
  }

  // -------------------------------------------------------------------------------------------------------
  // Nodes.

  private newNodeId(): NodeId {
    return `n${this.nextNodeNum++}`;
  }

  private makeRaw(n: SimNode): RawNode {
    const snap = n.storage.snapshot();
    const s = this.swarm;
    return new RawNode({
      id: n.id,
      storage: n.storage,
      random: new SeededRandom(this.rnd.below(2 ** 31)),
      electionTick: ELECTION_TICK,
      heartbeatTick: HEARTBEAT_TICK,
      maxInflightMsgs: s.maxInflight,
      maxSizePerMsg: s.maxMsgSize,
      checkQuorum: s.checkQuorum,
      preVote: s.preVote,
      readOnlyOption: s.leaseReads ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe,
      applied: snap ? snap.meta.index : 0,
      bootstrapVoters: n.bootstrap,
    });
  }

  private startNode(id: NodeId, bootstrap?: NodeId[]): SimNode {
    const n: SimNode = {
      id,
      storage: new MemoryStorage(),
      raw: undefined,
      kv: new KvStateMachine(),
      epoch: 0,
      fsyncPending: false,
      pendingWrites: new Map(),
      pendingReads: new Map(),
      bootstrap,
      retired: false,
    };
    this.nodes.set(id, n);
    this.net.setUp(id, true);
    n.raw = this.makeRaw(n);
    this.scheduleTick(n);
    this.pump(n);
    return n;
  }

  /** Schedules `run` for `n`'s current incarnation only. */
  private afterFor(n: SimNode, delayMs: number, run: () => void): void {
    const epoch = n.epoch;
    this.after(delayMs, () => {
      if (n.raw && n.epoch === epoch) run();
    });
  }

  private scheduleTick(n: SimNode): void {
    this.afterFor(n, TICK_MS, () => {
      (n.raw as RawNode).tick();
      this.pump(n);
      this.scheduleTick(n);
    });
  }

  /** Takes `n` down (its volatile state and any unsynced write are lost). */
  private stop(n: SimNode): void {
    n.raw = undefined;
    n.epoch++;
    n.fsyncPending = false;
    n.pendingWrites.clear();
    n.pendingReads.clear();
    this.net.setUp(n.id, false);
  }

  private crash(n: SimNode): void {
    if (!n.raw || this.quiet) return;
    this.stats.crashes++;
    this.log(`CRASH ${n.id} (unsynced Ready ${n.fsyncPending ? 'lost' : 'none'})`);
    this.stop(n);
    n.kv = new KvStateMachine();
    const epoch = n.epoch;
    this.after(this.rnd.int(30, 500), () => {
      if (n.epoch === epoch && !this.quiet) this.restart(n);
    });
  }

  private restart(n: SimNode): void {
    if (n.raw || n.retired) return;
    n.kv = new KvStateMachine();
    const snap = n.storage.snapshot();
    if (snap && snap.meta.index > 0) n.kv.restore(snap.data);
    this.net.setUp(n.id, true);
    n.raw = this.makeRaw(n);
    const log = `${n.storage.firstIndex()}..${n.storage.lastIndex()}`;
    this.log(`RESTART ${n.id} at snapshot ${snap?.meta.index ?? 0}, log ${log} term ${n.raw.term}`);
    this.scheduleTick(n);
    this.pump(n);
  }

  /** Takes the next Ready if the node is idle; it is handled when its "fsync" completes. */
  private pump(n: SimNode): void {
    const raw = n.raw;
    if (!raw) return;
    this.observe(n);
    if (n.fsyncPending || !raw.hasReady()) return;
    const rd = raw.ready();
    n.fsyncPending = true;
    const delay = rd.mustSync ? this.rnd.int(1, 4) : 0;
    if (!this.quiet && raw.role === Role.Leader && this.rnd.chance(this.swarm.leaderHitRate) && replicates(rd)) {
      this.hitLeader(n);
    }
    // Power loss while the batch is being written: it is lost whole (a torn tail record is discarded on
    // recovery, which is the same as losing the batch).
    if (delay > 0 && !this.quiet && this.rnd.chance(this.swarm.crashInFsync)) {
      this.afterFor(n, delay - 1, () => this.crash(n));
    }
    this.afterFor(n, delay, () => this.onFsync(n, rd));
  }

  /** Safety checks that look at a node right after it changed. */
  private observe(n: SimNode): void {
    const raw = n.raw;
    if (!raw) return;
    if (raw.term > this.stats.maxTerm) this.stats.maxTerm = raw.term;
    if (raw.role !== Role.Leader) return;
    const prev = this.leaders.get(raw.term);
    if (prev === undefined) {
      this.leaders.set(raw.term, n.id);
      this.stats.elections++;
      this.log(`LEADER ${n.id} term ${raw.term}`);
      this.checkLeaderCompleteness(n, raw);
    } else if (prev !== n.id) {
      this.violation(`election safety: ${prev} and ${n.id} both lead term ${raw.term}`);
    }
  }

  /** Every entry applied anywhere is in a new leader's log. */
  private checkLeaderCompleteness(n: SimNode, raw: RawNode): void {
    for (const [index, e] of this.applied) {
      if (index > raw.lastIndex) {
        this.violation(
          `leader completeness: ${n.id} leads term ${raw.term} with last index ${raw.lastIndex} < applied ${index}`,
        );
        return;
      }
      const t = raw.termAt(index);
      if (t !== undefined && t !== e.term) {
        this.violation(
          `leader completeness: ${n.id} term ${raw.term} has ${t}/${index}, committed was ${e.term}/${index}`,
        );
        return;
      }
    }
  }

  private onFsync(n: SimNode, rd: Ready): void {
    const raw = n.raw as RawNode;
    applyReady(raw, rd, {
      persist: (r) => n.storage.persist(r),
      send: (ms) => {
        for (const m of ms) this.send(m);
      },
      apply: (r) => {
        if (r.snapshot) this.installSnapshot(n, r.snapshot.data, r.snapshot.meta.index);
        for (const e of r.committedEntries) this.applyEntry(n, raw, e);
        for (const rs of r.readStates) {
          const read = n.pendingReads.get(dec.decode(rs.context));
          if (read) read.index = rs.index;
        }
      },
    });
    n.fsyncPending = false;
    const durable = n.storage.lastIndex();
    if (n.kv.appliedIndex > durable) {
      this.violation(`durability: ${n.id} applied up to ${n.kv.appliedIndex}, its durable log ends at ${durable}`);
    }
    this.serveReads(n);
    this.maybeSnapshot(n);
    this.pump(n);
  }

  private installSnapshot(n: SimNode, data: Uint8Array, index: number): void {
    n.kv.restore(data);
    if (n.kv.appliedIndex !== index) {
      this.violation(`${n.id}: snapshot ${index} holds state machine at ${n.kv.appliedIndex}`);
    }
    this.log(`${n.id} installed snapshot ${index}`);
    for (const i of n.pendingWrites.keys()) if (i <= index) n.pendingWrites.delete(i);
  }

  private applyEntry(n: SimNode, raw: RawNode, e: Ready['committedEntries'][number]): void {
    const data = dec.decode(e.data);
    const seen = this.applied.get(e.index);
    if (seen === undefined) {
      this.applied.set(e.index, { term: e.term, data });
      if (e.index > this.stats.committed) this.stats.committed = e.index;
    } else if (seen.term !== e.term || seen.data !== data) {
      this.violation(
        `state machine safety: ${n.id} applies ${e.term}/${e.index} ${data}, ` +
          `another node applied ${seen.term}/${e.index} ${seen.data}`,
      );
    }
    let result;
    try {
      result = n.kv.apply(e);
    } catch (err) {
      this.violation(`${n.id}: ${(err as Error).message}`);
      return;
    }
    if (e.type === EntryType.ConfChange) this.onConfChangeApplied(n, e.index, e.data);
    if (result && !this.firstApply.has(result.id)) this.firstApply.set(result.id, { at: this.now, ok: result.ok });
    const w = n.pendingWrites.get(e.index);
    if (!w) return;
    n.pendingWrites.delete(e.index);
    if (w.term === e.term && result) {
      const cmd = KvStateMachine.decode(e.data);
      this.respond(w.client, w.opId, { kind: 'done', output: cmd.op === 'cas' ? { ok: result.ok } : {} });
    } else {
      // Another entry took the slot: the proposal is definitely lost; the client may retry.
      this.respond(w.client, w.opId, { kind: 'retry', leader: raw.leader });
    }
  }

  private onConfChangeApplied(n: SimNode, index: number, data: Uint8Array): void {
    this.log(`${n.id} applied conf change at ${index}`);
    // A removed node never hears of its removal (nobody replicates to it any more): shut it down once the
    // removal is committed, as an operator would.
    const cc = decodeConfChange(data);
    const gone = this.nodes.get(cc.nodeId);
    if (cc.type === ConfChangeType.RemoveNode && gone && !gone.retired) {
      gone.retired = true;
      this.log(`RETIRE ${gone.id}`);
      if (gone.raw) this.stop(gone);
    }
  }

  private serveReads(n: SimNode): void {
    for (const [ctx, r] of n.pendingReads) {
      if (r.index !== undefined && n.kv.appliedIndex >= r.index) {
        n.pendingReads.delete(ctx);
        this.respond(r.client, r.opId, { kind: 'done', output: { value: n.kv.get(r.key) } });
      }
    }
  }

  private maybeSnapshot(n: SimNode): void {
    const raw = n.raw;
    if (!raw || this.swarm.snapEvery === 0) return;
    const applied = n.kv.appliedIndex;
    const snapIndex = n.storage.snapshot()?.meta.index ?? 0;
    if (applied - snapIndex < this.swarm.snapEvery) return;
    const meta = raw.snapshotMetaAt(applied);
    if (!meta) return;
    n.storage.createSnapshot(applied, meta.conf, n.kv.snapshot());
    n.storage.compact(Math.max(applied - this.swarm.snapKeep, n.storage.firstIndex() - 1));
    this.stats.snapshots++;
    this.log(`${n.id} snapshot at ${applied}, log now ${n.storage.firstIndex()}..${n.storage.lastIndex()}`);
  }

  // -------------------------------------------------------------------------------------------------------
  // Network.

  private send(m: Message): void {
    this.stats.messages++;
    if (m.type === MessageType.Snap) this.stats.snapshotsSent++;
    if (this.tracing && !this.net.connected(m.from, m.to)) this.log(`cut ${describeMessage(m)}`);
    this.net.send(
      m.from,
      m.to,
      this.guarded(() => this.deliver(m)),
    );
  }

  private deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (!n?.raw) return;
    this.log(`recv ${describeMessage(m)}`);
    n.raw.step(m);
    this.pump(n);
  }

  /** Splits the nodes into `groups`: nodes in different groups cannot talk until {@link heal}. */
  private partition(groups: NodeId[][], healAfterMs: number, what: string): void {
    this.net.faults.cut.clear();
    for (let i = 0; i < groups.length; i++) {
      for (let j = i + 1; j < groups.length; j++) {
        for (const a of groups[i]) for (const b of groups[j]) this.net.setCut(a, b, true);
      }
    }
    const gen = ++this.partitionGen;
    this.log(`${what} ${JSON.stringify(groups)}`);
    this.after(healAfterMs, () => {
      if (gen === this.partitionGen) this.heal();
    });
  }

  private heal(): void {
    if (this.net.faults.cut.size === 0) return;
    this.net.faults.cut.clear();
    this.partitionGen++;
    this.log('HEAL');
  }

  /**
   * Cuts leader `n` off right after it took a batch that replicates entries: its own write completes, its
   * messages do not leave (or reach one follower only), so the next leader is elected while the entries are
   * partly replicated — the situation the commit rule's current-term check exists for (Raft paper, figure 8).
   */
  private hitLeader(n: SimNode): void {
    this.stats.leaderHits++;
    const others = [...this.nodes.keys()].filter((id) => id !== n.id);
    const kept = this.swarm.leaderHitKeepsOne && others.length > 0 ? [this.rnd.pick(others)] : [];
    const rest = others.filter((id) => !kept.includes(id));
    this.partition([[n.id, ...kept], rest], this.rnd.int(50, 400), `LEADER HIT ${n.id}`);
  }

  // -------------------------------------------------------------------------------------------------------
  // Clients.

  private nextOp(c: Client): void {
    if (this.quiet || this.ended) return;
    c.seq++;
    const key = this.rnd.pick(this.keys);
    const r = this.rnd.below(10);
    let input: KvInput;
    const value = `c${c.id}.${c.seq}`;
    if (r < 4) input = { op: 'put', key, value };
    else if (r < 8) input = { op: 'get', key };
    else {
      const recent = this.writtenValues.slice(-6);
      const expect = recent.length > 0 && this.rnd.chance(0.8) ? this.rnd.pick(recent) : null;
      input = { op: 'cas', key, expect, value };
    }
    if (input.op !== 'get') this.writtenValues.push(value);
    const op: ClientOp = { opId: `${c.id}.${c.seq}`, input, call: this.now, attempt: 0 };
    c.current = op;
    this.log(`client ${c.id} starts ${op.opId} ${JSON.stringify(input)}`);
    this.after(this.swarm.clientTimeoutMs, () => this.onClientTimeout(c, op.opId));
    this.sendRequest(c, op);
  }

  private sendRequest(c: Client, op: ClientOp): void {
    const ids = [...this.nodes.keys()];
    const hinted = c.leaderHint && this.nodes.has(c.leaderHint) && this.rnd.chance(0.7);
    const target = hinted ? c.leaderHint : this.rnd.pick(ids);
    op.attempt++;
    const attempt = op.attempt;
    this.after(this.rnd.int(1, 3), () => this.onClientRequest(target, c, op.opId, attempt));
  }

  private respond(client: number, opId: string, resp: ClientResp): void {
    this.after(this.rnd.int(1, 3), () => this.onClientResponse(this.clients[client], opId, resp));
  }

  private onClientRequest(node: NodeId, c: Client, opId: string, attempt: number): void {
    const n = this.nodes.get(node);
    const op = c.current;
    if (!n?.raw || !op || op.opId !== opId) return;
    const raw = n.raw;
    const input = op.input;
    if (input.op === 'get') {
      if (raw.leader === '') {
        this.respond(c.id, op.opId, { kind: 'retry', leader: '' });
        return;
      }
      const ctx = `${op.opId}#${attempt}`;
      n.pendingReads.set(ctx, { client: c.id, opId: op.opId, key: input.key, index: undefined });
      raw.readIndex(enc.encode(ctx));
      this.pump(n);
      return;
    }
    const cmd =
      input.op === 'put'
        ? { op: 'put' as const, id: op.opId, key: input.key, value: input.value }
        : { op: 'cas' as const, id: op.opId, key: input.key, expect: input.expect, value: input.value };
    const r = raw.propose(KvStateMachine.encode(cmd));
    if (!r.ok) {
      this.respond(c.id, op.opId, { kind: 'retry', leader: r.leader });
      return;
    }
    this.log(`${n.id} proposed ${op.opId} at ${r.term}/${r.index}`);
    n.pendingWrites.set(r.index, { term: r.term, client: c.id, opId: op.opId });
    this.pump(n);
  }

  private onClientResponse(c: Client, opId: string, resp: ClientResp): void {
    const op = c.current;
    if (!op || op.opId !== opId) return;
    if (resp.kind === 'retry') {
      c.leaderHint = resp.leader;
      if (op.attempt < 30) {
        this.after(this.rnd.int(2, 15), () => {
          if (c.current?.opId === opId) this.sendRequest(c, op);
        });
      }
      return;
    }
    this.history.push({ clientId: c.id, input: op.input, call: op.call, output: resp.output, ret: this.now });
    if (op.input.op === 'get') this.stats.reads++;
    this.stats.opsOk++;
    this.log(`client ${c.id} ${op.opId} ${op.input.op} done ${JSON.stringify(resp.output)}`);
    c.current = undefined;
    this.after(this.rnd.int(0, 20), () => this.nextOp(c));
  }

  private onClientTimeout(c: Client, opId: string): void {
    const op = c.current;
    if (!op || op.opId !== opId) return;
    if (op.input.op !== 'get') {
      // The write may or may not have happened.
      this.unknownOps.set(op.opId, this.history.length);
      this.history.push({ clientId: c.id, input: op.input, call: op.call, output: { unknown: true }, ret: Infinity });
      this.stats.opsUnknown++;
    }
    this.log(`client ${c.id} ${op.opId} timed out`);
    c.current = undefined;
    c.leaderHint = '';
    this.after(this.rnd.int(0, 20), () => this.nextOp(c));
  }

  // -------------------------------------------------------------------------------------------------------
  // Faults and administration.

  private upNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.raw);
  }

  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.raw?.role === Role.Leader && (!best || n.raw.term > (best.raw?.term ?? 0))) best = n;
    }
    return best;
  }

  /** Runs `fault` about every `everyMs` (uniform in [everyMs/2, 3·everyMs/2]) until the calm. */
  private every(everyMs: number, fault: () => void): void {
    if (everyMs === 0) return;
    this.after(this.rnd.int(everyMs / 2, everyMs * 1.5), () => {
      if (this.quiet) return;
      fault();
      this.every(everyMs, fault);
    });
  }

  /** Crashes a node (the leader half of the time). */
  private crashSome(): void {
    const up = this.upNodes();
    if (up.length === 0) return;
    const l = this.leader();
    this.crash(l && this.rnd.chance(0.5) ? l : this.rnd.pick(up));
  }

  /** Splits the network in two, often with the leader in the minority (where it may keep appending). */
  private partitionSome(): void {
    if (this.net.faults.cut.size > 0) return;
    const ids = [...this.nodes.keys()];
    const l = this.leader();
    const shape = this.rnd.below(3);
    let side: NodeId[];
    if (shape === 0 && l) {
      const others = ids.filter((id) => id !== l.id);
      side = [l.id, ...others.filter(() => this.rnd.chance(0.25)).slice(0, Math.floor((ids.length - 1) / 2) - 1)];
    } else if (shape === 1) {
      side = [this.rnd.pick(ids)];
    } else {
      side = ids.filter(() => this.rnd.chance(0.5));
    }
    this.stats.partitions++;
    this.partition([side, ids.filter((id) => !side.includes(id))], this.rnd.int(50, 600), 'PARTITION');
  }

  private onAdmin(): void {
    const l = this.leader();
    if (!l?.raw) return;
    const raw = l.raw;
    const conf = raw.status().conf;
    const r = this.rnd.below(10);
    if (r < 2 && conf.voters.length > 1 && this.swarm.transfers) {
      const to = this.rnd.pick(conf.voters.filter((v) => v !== l.id));
      this.stats.transfers++;
      this.log(`ADMIN transfer leadership ${l.id} -> ${to}`);
      raw.transferLeader(to);
      this.pump(l);
      return;
    }
    if (!this.swarm.membership) return;
    let res;
    if (conf.learners.length > 0 && r < 6) {
      const id = this.rnd.pick(conf.learners);
      const type = this.rnd.chance(0.85) ? ConfChangeType.AddVoter : ConfChangeType.RemoveNode;
      res = raw.proposeConfChange({ type, nodeId: id });
      this.log(`ADMIN promote/remove learner ${id}: ${res.ok ? 'ok' : res.code}`);
    } else if (conf.voters.length + conf.learners.length < 5 && this.nextNodeNum <= 8 && r < 8) {
      const id = this.newNodeId();
      this.startNode(id);
      res = raw.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: id });
      this.log(`ADMIN add learner ${id}: ${res.ok ? 'ok' : res.code}`);
    } else if (conf.voters.length >= 4 || (conf.voters.length >= 2 && this.rnd.chance(0.2))) {
      const id = this.rnd.pick(conf.voters.filter((v) => v !== l.id));
      res = raw.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: id });
      this.log(`ADMIN remove voter ${id}: ${res.ok ? 'ok' : res.code}`);
    }
    if (res?.ok) this.stats.confChanges++;
    this.pump(l);
  }

  private onQuiet(): void {
    this.quiet = true;
    this.net.faults.dropRate = 0;
    this.net.faults.duplicateRate = 0;
    this.heal();
    this.log('QUIET: healing, restarting every node, no more faults');
    for (const n of this.nodes.values()) if (!n.raw && !n.retired) this.restart(n);
  }

  // -------------------------------------------------------------------------------------------------------
  // Checks.

  /** Log matching on the persisted logs: two logs holding an entry with the same index and term agree before it. */
  private checkLogMatching(): void {
    const ns = [...this.nodes.values()];
    for (let i = 0; i < ns.length; i++) {
      for (let j = i + 1; j < ns.length; j++) {
        const a = ns[i].storage;
        const b = ns[j].storage;
        const lo = Math.max(a.firstIndex(), b.firstIndex());
        const hi = Math.min(a.lastIndex(), b.lastIndex());
        if (hi < lo) continue;
        const ea = a.entries(lo, hi + 1);
        const eb = b.entries(lo, hi + 1);
        let match = -1;
        for (let k = ea.length - 1; k >= 0; k--) {
          if (ea[k].term === eb[k].term) {
            match = k;
            break;
          }
        }
        for (let k = 0; k <= match; k++) {
          if (ea[k].term !== eb[k].term || ea[k].type !== eb[k].type || !bytesEqual(ea[k].data, eb[k].data)) {
            const at = `${ea[match].term}/${ea[match].index}`;
            this.violation(`log matching: ${ns[i].id} and ${ns[j].id} agree at ${at} but differ at ${ea[k].index}`);
            return;
          }
        }
      }
    }
  }

  /** What keeps the cluster from being settled: no leader, or a member down or behind the leader. */
  private livenessProblems(): string[] {
    const l = this.leader();
    if (!l?.raw) return ['no leader'];
    const problems: string[] = [];
    const conf = l.raw.status().conf;
    for (const id of [...conf.voters, ...conf.learners]) {
      const n = this.nodes.get(id);
      if (!n?.raw) problems.push(`member ${id} is down`);
      else if (n.raw.commitIndex !== l.raw.commitIndex || n.kv.appliedIndex !== l.raw.commitIndex) {
        problems.push(
          `${id} has commit ${n.raw.commitIndex} applied ${n.kv.appliedIndex}, ` +
            `leader ${l.id} commit ${l.raw.commitIndex}`,
        );
      }
    }
    return problems;
  }

  private finalChecks(): void {
    this.checkLogMatching();
    for (const p of this.livenessProblems()) this.violation(`liveness: ${p} after calm`);
    // Replicas at the same applied index hold the same state.
    const byIndex = new Map<number, { id: NodeId; digest: string }>();
    for (const n of this.nodes.values()) {
      if (!n.raw) continue;
      const d = n.kv.digest();
      const other = byIndex.get(n.kv.appliedIndex);
      if (other && other.digest !== d) {
        this.violation(`replica divergence at ${n.kv.appliedIndex}: ${other.id} ${other.digest} vs ${n.id} ${d}`);
      }
      byIndex.set(n.kv.appliedIndex, { id: n.id, digest: d });
    }
  }

  /**
   * The client history with timed-out writes completed by an omniscient observer: a write that some replica
   * applied took effect no later than that first apply (its commit point precedes it), with the result the
   * state machine computed; a write that no replica applied by the end never took effect — no completed
   * operation observed it — so it is left out. Both only narrow the search; neither hides an anomaly a client
   * could observe.
   */
  private completedHistory(): Operation<KvInput, KvOutput>[] {
    const out: Operation<KvInput, KvOutput>[] = [];
    const unknownAt = new Map<number, string>();
    for (const [id, i] of this.unknownOps) unknownAt.set(i, id);
    this.history.forEach((op, i) => {
      const id = unknownAt.get(i);
      if (id === undefined) {
        out.push(op);
        return;
      }
      const fa = this.firstApply.get(id);
      if (!fa) return;
      out.push({ ...op, ret: Math.max(fa.at, op.call), output: op.input.op === 'cas' ? { ok: fa.ok } : {} });
    });
    return out;
  }

  // -------------------------------------------------------------------------------------------------------
  // Main loop.

  /** Runs to the end (or the first violation, unless tracing) and returns what was found. */
  run(): SimResult {
    const ids: NodeId[] = [];
    for (let i = 0; i < this.swarm.voters; i++) ids.push(this.newNodeId());
    for (const id of ids) this.startNode(id, ids);
    for (let c = 0; c < this.swarm.clients; c++) {
      const client: Client = { id: c, seq: 0, current: undefined, leaderHint: '' };
      this.clients.push(client);
      this.after(this.rnd.int(0, 50), () => this.nextOp(client));
    }
    this.every(this.swarm.crashEveryMs, () => this.crashSome());
    this.every(this.swarm.partitionEveryMs, () => this.partitionSome());
    if (this.swarm.membership || this.swarm.transfers) this.every(250, () => this.onAdmin());
    this.after(this.activeMs, () => this.onQuiet());
    const end = this.activeMs + this.quietMs;
    for (let t = 250; t < end; t += 250) this.after(t, () => this.checkLogMatching());

    this.clock.waitFor(() => this.violations.length > 0 && !this.tracing, end);
    // Liveness: after `quietMs` of calm the cluster settles within a bounded time (a learner that fell far
    // behind, fed one entry per message, may need longer than the calm itself).
    if (this.violations.length === 0) {
      const settled = () => this.violations.length > 0 || this.livenessProblems().length === 0;
      this.clock.waitFor(settled, end + SETTLE_GRACE_MS);
    }
    this.ended = true;
    if (this.violations.length === 0) this.finalChecks();

    let gaveUp = false;
    if (this.violations.length === 0) {
      const r = checkLinearizable(kvModel, this.completedHistory(), LINEARIZABILITY_STEPS);
      if (!r.ok && r.reason === 'timeout') gaveUp = true;
      else if (!r.ok) {
        this.violation(
          `linearizability: history of key #${r.partition} is not linearizable; ` +
            `longest prefix then first op left out:\n    ${r.longestPrefix.join('\n    ')}`,
        );
      }
    }
    return {
      seed: this.opts.seed,
      violations: this.violations,
      linearizabilityGaveUp: gaveUp,
      stats: this.stats,
      trace: this.trace,
      config: this.config,
    };
  }
}

/** Whether a leader's Ready carries entries to followers (appends that are not mere heartbeats of the commit). */
function replicates(rd: Ready): boolean {
  return rd.messages.some((m) => m.type === MessageType.App && m.entries.length > 0);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Runs one seed. */
export function runSimulation(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}
