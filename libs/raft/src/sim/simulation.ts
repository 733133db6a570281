import {
  ConfChangeType,
  EntryType,
  MemoryStorage,
  Message,
  MessageType,
  NodeId,
  RawNode,
  ReadOnlyOption,
  Ready,
  Role,
  SeededRandom,
  decodeConfChange,
} from '../core';
import { KvStateMachine } from '../testing/kv-state-machine';
import { describeMessage } from '../testing/describe';
import { EventQueue } from './event-queue';
import { KvInput, KvOutput, kvModel } from './kv-model';
import { Operation, checkLinearizable } from './linearizability';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Knobs of one simulated run. Everything not given is drawn from the seed. */
export interface SimOptions {
  seed: number;
  /** Virtual milliseconds of faults and client load. */
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
  /** Linearizability search gave up (not a violation, but reported). */
  linearizabilityTimeout: boolean;
  stats: {
    events: number;
    messages: number;
    elections: number;
    crashes: number;
    partitions: number;
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

type Ev =
  | { k: 'tick'; node: NodeId; epoch: number }
  | { k: 'msg'; m: Message }
  | { k: 'fsync'; node: NodeId; epoch: number; rd: Ready }
  | { k: 'creq'; node: NodeId; client: number; opId: string; attempt: number }
  | { k: 'cresp'; client: number; opId: string; resp: ClientResp }
  | { k: 'ctimeout'; client: number; opId: string }
  | { k: 'cnext'; client: number }
  | { k: 'cretry'; client: number; opId: string }
  | { k: 'fault' }
  | { k: 'heal'; gen: number }
  | { k: 'restart'; node: NodeId; epoch: number }
  | { k: 'crash'; node: NodeId; epoch: number }
  | { k: 'admin' }
  | { k: 'quiet' }
  | { k: 'check' };

type ClientResp = { kind: 'retry'; leader: NodeId } | { kind: 'done'; output: KvOutput };

interface SimNode {
  id: NodeId;
  storage: MemoryStorage;
  raw: RawNode | undefined;
  kv: KvStateMachine;
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

/**
 * One deterministic run of a Raft cluster under faults: seeded virtual time, a lossy, reordering, duplicating,
 * partitionable network, crashes that lose unsynced writes, snapshots, membership changes, leadership
 * transfers, and clients doing put/get/cas against a replicated {@link KvStateMachine} (reads via ReadIndex).
 * Checks election safety, log matching, leader completeness, state machine safety, replica convergence and
 * linearizability of the client history.
 */
export class Simulation {
  private readonly rnd: SeededRandom;
  private readonly q = new EventQueue<Ev>();
  private now = 0;
  private readonly nodes = new Map<NodeId, SimNode>();
  private nextNodeNum = 1;
  private readonly clients: Client[] = [];
  private readonly history: Operation<KvInput, KvOutput>[] = [];
  private readonly violations: string[] = [];
  private readonly trace: string[] = [];
  private readonly leaders = new Map<number, NodeId>();
  /** index → term and data of the entry applied there by anyone. */
  private readonly applied = new Map<number, { term: number; data: string }>();
  private groups: Map<NodeId, number> | undefined;
  private partitionGen = 0;
  private quiet = false;
  private ended = false;
  private readonly writtenValues: string[] = [];
  /** When each client write (by id) was first applied by any replica, and its result. */
  private readonly firstApply = new Map<string, { at: number; ok: boolean }>();
  /** History index of each timed-out write, by op id. */
  private readonly unknownOps = new Map<string, number>();

  // Per-seed configuration.
  private readonly tickMs = 10;
  private readonly electionTick = 10;
  private readonly heartbeatTick = 2;
  private readonly dropRate: number;
  private readonly dupRate: number;
  private readonly maxDelay: number;
  private readonly faultEveryMs: number;
  private readonly snapEvery: number;
  private readonly snapKeep: number;
  private readonly maxInflight: number;
  private readonly maxMsgSize: number;
  private readonly initialVoters: number;
  private readonly clientCount: number;
  private readonly keys: string[];
  private readonly checkQuorum: boolean;
  private readonly preVote: boolean;
  private readonly clientTimeoutMs: number;
  private readonly crashInFsync: number;
  private readonly leaseReads: boolean;
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
    const r = this.rnd;
    this.dropRate = r.pick([0, 0.01, 0.05, 0.15]);
    this.dupRate = r.pick([0, 0.02, 0.1]);
    this.maxDelay = r.pick([2, 8, 20]);
    this.faultEveryMs = r.pick([80, 150, 300, 600]);
    this.snapEvery = r.pick([4, 10, 30]);
    this.snapKeep = r.pick([0, 2, 5]);
    this.maxInflight = r.pick([1, 2, 4, 64]);
    this.maxMsgSize = r.pick([64, 256, 1 << 20]);
    this.initialVoters = r.pick([1, 3, 3, 3, 5]);
    this.clientCount = r.pick([3, 4, 6]);
    this.keys = ['a', 'b', 'c'].slice(0, r.pick([1, 2, 3]));
    this.checkQuorum = r.chance(0.7);
    this.preVote = r.chance(0.7);
    this.clientTimeoutMs = r.pick([150, 400]);
    this.crashInFsync = r.pick([0, 0.003, 0.01]);
    this.leaseReads = this.checkQuorum && r.chance(0.3);
    this.activeMs = opts.activeMs ?? 1500;
    this.quietMs = opts.quietMs ?? 1500;
    this.tracing = opts.trace ?? false;
    this.config =
      `voters=${this.initialVoters} clients=${this.clientCount} keys=${this.keys.length} drop=${this.dropRate} ` +
      `dup=${this.dupRate} delay≤${this.maxDelay}ms faultEvery=${this.faultEveryMs}ms snapEvery=${this.snapEvery} ` +
      `keep=${this.snapKeep} inflight=${this.maxInflight} msgSize=${this.maxMsgSize} checkQuorum=${this.checkQuorum} ` +
      `preVote=${this.preVote} clientTimeout=${this.clientTimeoutMs}ms crashInFsync=${this.crashInFsync} leaseReads=${this.leaseReads}`;
  }

  private log(s: string): void {
    if (this.tracing) this.trace.push(`${String(this.now).padStart(6)}ms ${s}`);
  }

  private violation(s: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.now}ms ${s}`);
    this.log(`VIOLATION ${s}`);
  }

  // -------------------------------------------------------------------------------------------------------
  // Nodes.

  private newNodeId(): NodeId {
    return `n${this.nextNodeNum++}`;
  }

  private makeRaw(n: SimNode): RawNode {
    const snap = n.storage.snapshot();
    return new RawNode({
      id: n.id,
      storage: n.storage,
      random: new SeededRandom(this.rnd.int(2 ** 31)),
      electionTick: this.electionTick,
      heartbeatTick: this.heartbeatTick,
      maxInflightMsgs: this.maxInflight,
      maxSizePerMsg: this.maxMsgSize,
      checkQuorum: this.checkQuorum,
      preVote: this.preVote,
      readOnlyOption: this.leaseReads ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe,
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
    n.raw = this.makeRaw(n);
    this.scheduleTick(n);
    this.pump(n);
    return n;
  }

  private scheduleTick(n: SimNode): void {
    this.q.push(this.now + this.tickMs, { k: 'tick', node: n.id, epoch: n.epoch });
  }

  private crash(n: SimNode): void {
    if (!n.raw) return;
    this.stats.crashes++;
    this.log(`CRASH ${n.id} (unsynced Ready ${n.fsyncPending ? 'lost' : 'none'})`);
    n.raw = undefined;
    n.epoch++;
    n.fsyncPending = false;
    n.pendingWrites.clear();
    n.pendingReads.clear();
    n.kv = new KvStateMachine();
    this.q.push(this.now + this.rnd.range(30, 500), { k: 'restart', node: n.id, epoch: n.epoch });
  }

  private restart(n: SimNode): void {
    if (n.raw || n.retired) return;
    n.kv = new KvStateMachine();
    const snap = n.storage.snapshot();
    if (snap && snap.meta.index > 0) n.kv.restore(snap.data);
    n.raw = this.makeRaw(n);
    this.log(`RESTART ${n.id} at snapshot ${snap?.meta.index ?? 0}, log ${n.storage.firstIndex()}..${n.storage.lastIndex()} term ${n.raw.term}`);
    this.scheduleTick(n);
    this.pump(n);
  }

  /** Takes the next Ready if the node is idle; its effects happen when the "fsync" completes. */
  private pump(n: SimNode): void {
    const raw = n.raw;
    if (!raw) return;
    this.observe(n);
    if (n.fsyncPending || !raw.hasReady()) return;
    const rd = raw.ready();
    n.fsyncPending = true;
    const delay = rd.mustSync ? this.rnd.range(1, 4) : 0;
    // Power loss while the batch is being written: it is lost whole (a torn tail record is discarded on
    // recovery, which is the same as losing the batch).
    if (delay > 0 && !this.quiet && this.rnd.chance(this.crashInFsync)) {
      this.q.push(this.now + delay - 1, { k: 'crash', node: n.id, epoch: n.epoch });
    }
    this.q.push(this.now + delay, { k: 'fsync', node: n.id, epoch: n.epoch, rd });
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
      // Leader completeness: every entry applied anywhere is in the new leader's log.
      for (const [index, e] of this.applied) {
        if (index > raw.lastIndex) {
          this.violation(`leader completeness: ${n.id} leads term ${raw.term} with last index ${raw.lastIndex} < applied ${index}`);
          break;
        }
        const t = raw.termAt(index);
        if (t !== undefined && t !== e.term) {
          this.violation(`leader completeness: ${n.id} term ${raw.term} has ${t}/${index}, committed was ${e.term}/${index}`);
          break;
        }
      }
    } else if (prev !== n.id) {
      this.violation(`election safety: ${prev} and ${n.id} both lead term ${raw.term}`);
    }
  }

  private onFsync(n: SimNode, rd: Ready): void {
    const raw = n.raw;
    if (!raw) return;
    // 1. persist
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    // 2. send
    for (const m of rd.messages) this.send(m);
    // 3. apply
    if (rd.snapshot) {
      n.kv.restore(rd.snapshot.data);
      if (n.kv.appliedIndex !== rd.snapshot.meta.index) {
        this.violation(`${n.id}: snapshot ${rd.snapshot.meta.index} holds state machine at ${n.kv.appliedIndex}`);
      }
      this.log(`${n.id} installed snapshot ${rd.snapshot.meta.index}`);
      for (const [index, w] of n.pendingWrites) {
        if (index <= rd.snapshot.meta.index) n.pendingWrites.delete(index);
        void w;
      }
    }
    for (const e of rd.committedEntries) {
      const data = dec.decode(e.data);
      const seen = this.applied.get(e.index);
      if (seen === undefined) {
        this.applied.set(e.index, { term: e.term, data });
        if (e.index > this.stats.committed) this.stats.committed = e.index;
      } else if (seen.term !== e.term || seen.data !== data) {
        this.violation(`state machine safety: ${n.id} applies ${e.term}/${e.index} ${data}, another node applied ${seen.term}/${e.index} ${seen.data}`);
      }
      let result;
      try {
        result = n.kv.apply(e);
      } catch (err) {
        this.violation(`${n.id}: ${(err as Error).message}`);
        continue;
      }
      if (e.type === EntryType.ConfChange) {
        this.log(`${n.id} applied conf change at ${e.index}`);
        // A removed node never hears of its removal (nobody replicates to it any more): shut it down once the
        // removal is committed, as an operator would.
        const cc = decodeConfChange(e.data);
        const gone = this.nodes.get(cc.nodeId);
        if (cc.type === ConfChangeType.RemoveNode && gone && !gone.retired) {
          gone.retired = true;
          this.log(`RETIRE ${gone.id}`);
          if (gone.raw) {
            gone.raw = undefined;
            gone.epoch++;
            gone.fsyncPending = false;
          }
        }
      }
      if (result && !this.firstApply.has(result.id)) this.firstApply.set(result.id, { at: this.now, ok: result.ok });
      const w = n.pendingWrites.get(e.index);
      if (w) {
        n.pendingWrites.delete(e.index);
        if (w.term === e.term && result) {
          const cmd = KvStateMachine.decode(e.data);
          this.respond(w.client, w.opId, { kind: 'done', output: cmd.op === 'cas' ? { ok: result.ok } : {} });
        } else {
          // Another entry took the slot: the proposal is definitely lost; the client may retry.
          this.respond(w.client, w.opId, { kind: 'retry', leader: raw.leader });
        }
      }
    }
    for (const rs of rd.readStates) {
      const r = n.pendingReads.get(dec.decode(rs.context));
      if (r) r.index = rs.index;
    }
    raw.advance(rd);
    n.fsyncPending = false;
    this.serveReads(n);
    this.maybeSnapshot(n);
    this.pump(n);
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
    if (!raw) return;
    const applied = n.kv.appliedIndex;
    const snapIndex = n.storage.snapshot()?.meta.index ?? 0;
    if (applied - snapIndex < this.snapEvery) return;
    const meta = raw.snapshotMetaAt(applied);
    if (!meta) return;
    n.storage.createSnapshot(applied, meta.conf, n.kv.snapshot());
    n.storage.compact(Math.max(applied - this.snapKeep, n.storage.firstIndex() - 1));
    this.stats.snapshots++;
    this.log(`${n.id} snapshot at ${applied}, log now ${n.storage.firstIndex()}..${n.storage.lastIndex()}`);
  }

  // -------------------------------------------------------------------------------------------------------
  // Network.

  private canTalk(a: NodeId, b: NodeId): boolean {
    if (!this.groups) return true;
    return (this.groups.get(a) ?? -1) === (this.groups.get(b) ?? -1);
  }

  private send(m: Message): void {
    this.stats.messages++;
    if (m.type === MessageType.Snap) this.stats.snapshotsSent++;
    const drop = this.quiet ? 0 : this.dropRate;
    if (this.rnd.chance(drop)) {
      this.log(`drop ${describeMessage(m)}`);
      return;
    }
    const copies = !this.quiet && this.rnd.chance(this.dupRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.q.push(this.now + this.rnd.range(1, this.maxDelay), { k: 'msg', m });
    }
  }

  private deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (!n?.raw) return;
    if (!this.canTalk(m.from, m.to)) {
      this.log(`cut ${describeMessage(m)}`);
      return;
    }
    this.log(`recv ${describeMessage(m)}`);
    n.raw.step(m);
    this.pump(n);
  }

  // -------------------------------------------------------------------------------------------------------
  // Clients.

  private nextOp(c: Client): void {
    if (this.quiet || this.ended) return;
    c.seq++;
    const key = this.rnd.pick(this.keys);
    const r = this.rnd.int(10);
    let input: KvInput;
    const value = `c${c.id}.${c.seq}`;
    if (r < 4) input = { op: 'put', key, value };
    else if (r < 8) input = { op: 'get', key };
    else {
      const expect = this.writtenValues.length > 0 && this.rnd.chance(0.8) ? this.rnd.pick(this.writtenValues.slice(-6)) : null;
      input = { op: 'cas', key, expect, value };
    }
    if (input.op !== 'get') this.writtenValues.push(value);
    const op: ClientOp = { opId: `${c.id}.${c.seq}`, input, call: this.now, attempt: 0 };
    c.current = op;
    this.log(`client ${c.id} starts ${op.opId} ${JSON.stringify(input)}`);
    this.q.push(this.now + this.clientTimeoutMs, { k: 'ctimeout', client: c.id, opId: op.opId });
    this.sendRequest(c, op);
  }

  private sendRequest(c: Client, op: ClientOp): void {
    const ids = [...this.nodes.keys()];
    const target = c.leaderHint && this.nodes.has(c.leaderHint) && this.rnd.chance(0.7) ? c.leaderHint : this.rnd.pick(ids);
    op.attempt++;
    this.q.push(this.now + this.rnd.range(1, 3), { k: 'creq', node: target, client: c.id, opId: op.opId, attempt: op.attempt });
  }

  private respond(client: number, opId: string, resp: ClientResp): void {
    this.q.push(this.now + this.rnd.range(1, 3), { k: 'cresp', client, opId, resp });
  }

  private onClientRequest(ev: Extract<Ev, { k: 'creq' }>): void {
    const n = this.nodes.get(ev.node);
    const c = this.clients[ev.client];
    const op = c.current;
    if (!n?.raw || !op || op.opId !== ev.opId) return;
    const raw = n.raw;
    const input = op.input;
    if (input.op === 'get') {
      if (raw.leader === '') {
        this.respond(c.id, op.opId, { kind: 'retry', leader: '' });
        return;
      }
      const ctx = `${op.opId}#${ev.attempt}`;
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

  private onClientResponse(ev: Extract<Ev, { k: 'cresp' }>): void {
    const c = this.clients[ev.client];
    const op = c.current;
    if (!op || op.opId !== ev.opId) return;
    if (ev.resp.kind === 'retry') {
      c.leaderHint = ev.resp.leader;
      if (op.attempt < 30) {
        const backoff = this.rnd.range(2, 15);
        this.q.push(this.now + backoff, { k: 'cretry', client: c.id, opId: op.opId });
      }
      return;
    }
    this.history.push({ clientId: c.id, input: op.input, call: op.call, output: ev.resp.output, ret: this.now });
    if (op.input.op === 'get') this.stats.reads++;
    this.stats.opsOk++;
    this.log(`client ${c.id} ${op.opId} ${op.input.op} done ${JSON.stringify(ev.resp.output)}`);
    c.current = undefined;
    this.q.push(this.now + this.rnd.range(0, 20), { k: 'cnext', client: c.id });
  }

  private onClientTimeout(ev: Extract<Ev, { k: 'ctimeout' }>): void {
    const c = this.clients[ev.client];
    const op = c.current;
    if (!op || op.opId !== ev.opId) return;
    if (op.input.op !== 'get') {
      // The write may or may not have happened.
      this.unknownOps.set(op.opId, this.history.length);
      this.history.push({ clientId: c.id, input: op.input, call: op.call, output: { unknown: true }, ret: Infinity });
      this.stats.opsUnknown++;
    }
    this.log(`client ${c.id} ${op.opId} timed out`);
    c.current = undefined;
    c.leaderHint = '';
    this.q.push(this.now + this.rnd.range(0, 20), { k: 'cnext', client: c.id });
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

  private onFault(): void {
    if (this.quiet) return;
    const r = this.rnd.int(10);
    const up = this.upNodes();
    if (r < 4 && up.length > 0) {
      // Crash a node (the leader half of the time).
      const l = this.leader();
      const victim = l && this.rnd.chance(0.5) ? l : this.rnd.pick(up);
      this.crash(victim);
    } else if (r < 8 && !this.groups) {
      const ids = [...this.nodes.keys()];
      this.groups = new Map();
      if (this.rnd.chance(0.5)) {
        const lone = this.rnd.pick(ids);
        for (const id of ids) this.groups.set(id, id === lone ? 1 : 0);
      } else {
        for (const id of ids) this.groups.set(id, this.rnd.int(2));
      }
      this.partitionGen++;
      this.stats.partitions++;
      this.log(`PARTITION ${JSON.stringify([...this.groups])}`);
      this.q.push(this.now + this.rnd.range(50, 600), { k: 'heal', gen: this.partitionGen });
    }
    this.q.push(this.now + this.rnd.range(this.faultEveryMs / 2, this.faultEveryMs * 1.5), { k: 'fault' });
  }

  private onAdmin(): void {
    if (this.quiet) return;
    this.q.push(this.now + this.rnd.range(100, 400), { k: 'admin' });
    const l = this.leader();
    if (!l?.raw) return;
    const raw = l.raw;
    const conf = raw.status().conf;
    const r = this.rnd.int(10);
    if (r < 2 && conf.voters.length > 1) {
      const to = this.rnd.pick(conf.voters.filter((v) => v !== l.id));
      this.stats.transfers++;
      this.log(`ADMIN transfer leadership ${l.id} -> ${to}`);
      raw.transferLeader(to);
      this.pump(l);
      return;
    }
    let res;
    if (conf.learners.length > 0 && r < 6) {
      const id = this.rnd.pick(conf.learners);
      res = raw.proposeConfChange({ type: this.rnd.chance(0.85) ? ConfChangeType.AddVoter : ConfChangeType.RemoveNode, nodeId: id });
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
    this.groups = undefined;
    this.log('QUIET: healing, restarting every node, no more faults');
    for (const n of this.nodes.values()) if (!n.raw && !n.retired) this.restart(n);
  }

  // -------------------------------------------------------------------------------------------------------
  // Checks.

  /** Log matching on the persisted logs: if two logs hold an entry with the same index and term, they agree before it. */
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
            this.violation(`log matching: ${ns[i].id} and ${ns[j].id} agree at ${ea[match].term}/${ea[match].index} but differ at ${ea[k].index}`);
            return;
          }
        }
      }
    }
  }

  private finalChecks(): void {
    this.checkLogMatching();
    // Liveness after calm: one leader, every member caught up with it.
    const l = this.leader();
    if (!l?.raw) {
      this.violation(`liveness: no leader after ${this.quietMs}ms of calm`);
    } else {
      const conf = l.raw.status().conf;
      for (const id of [...conf.voters, ...conf.learners]) {
        const n = this.nodes.get(id);
        if (!n?.raw) {
          this.violation(`liveness: member ${id} is down after calm`);
          continue;
        }
        if (n.raw.commitIndex !== l.raw.commitIndex || n.kv.appliedIndex !== l.raw.commitIndex) {
          this.violation(
            `liveness: ${id} has commit ${n.raw.commitIndex} applied ${n.kv.appliedIndex}, leader ${l.id} commit ${l.raw.commitIndex}`,
          );
        }
      }
    }
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

  /** Runs to the end and returns what was found. */
  run(): SimResult {
    const ids: NodeId[] = [];
    for (let i = 0; i < this.initialVoters; i++) ids.push(this.newNodeId());
    for (const id of ids) this.startNode(id, ids);
    for (let c = 0; c < this.clientCount; c++) {
      this.clients.push({ id: c, seq: 0, current: undefined, leaderHint: '' });
      this.q.push(this.rnd.range(0, 50), { k: 'cnext', client: c });
    }
    this.q.push(this.rnd.range(100, this.faultEveryMs), { k: 'fault' });
    this.q.push(this.rnd.range(200, 400), { k: 'admin' });
    this.q.push(this.activeMs, { k: 'quiet' });
    for (let t = 250; t < this.activeMs + this.quietMs; t += 250) this.q.push(t, { k: 'check' });
    const end = this.activeMs + this.quietMs;

    let ev;
    while ((ev = this.q.pop())) {
      if (ev.at > end) break;
      this.now = ev.at;
      this.stats.events++;
      const e = ev.ev;
      switch (e.k) {
        case 'tick': {
          const n = this.nodes.get(e.node);
          if (!n?.raw || n.epoch !== e.epoch) break;
          n.raw.tick();
          this.pump(n);
          this.scheduleTick(n);
          break;
        }
        case 'msg':
          this.deliver(e.m);
          break;
        case 'fsync': {
          const n = this.nodes.get(e.node);
          if (!n?.raw || n.epoch !== e.epoch) break;
          this.onFsync(n, e.rd);
          break;
        }
        case 'creq':
          this.onClientRequest(e);
          break;
        case 'cresp':
          this.onClientResponse(e);
          break;
        case 'ctimeout':
          this.onClientTimeout(e);
          break;
        case 'cnext':
          this.nextOp(this.clients[e.client]);
          break;
        case 'cretry': {
          const c = this.clients[e.client];
          if (c.current?.opId === e.opId) this.sendRequest(c, c.current);
          break;
        }
        case 'fault':
          this.onFault();
          break;
        case 'heal':
          if (e.gen === this.partitionGen && this.groups) {
            this.groups = undefined;
            this.log('HEAL');
          }
          break;
        case 'restart': {
          const n = this.nodes.get(e.node);
          if (n && n.epoch === e.epoch && !this.quiet) this.restart(n);
          break;
        }
        case 'crash': {
          const n = this.nodes.get(e.node);
          if (n && n.epoch === e.epoch && !this.quiet) this.crash(n);
          break;
        }
        case 'admin':
          this.onAdmin();
          break;
        case 'quiet':
          this.onQuiet();
          break;
        case 'check':
          this.checkLogMatching();
          break;
      }
      if (this.violations.length > 0 && !this.tracing) break;
    }
    this.ended = true;
    if (this.violations.length === 0) this.finalChecks();

    let linTimeout = false;
    if (this.violations.length === 0) {
      const r = checkLinearizable(kvModel, this.completedHistory(), 500_000);
      if (!r.ok && r.reason === 'timeout') linTimeout = true;
      else if (!r.ok) this.violation(`linearizability: history of key #${r.partition} is not linearizable; longest prefix then first op left out:\n    ${r.longestPrefix.join('\n    ')}`);
    }
    return {
      seed: this.opts.seed,
      violations: this.violations,
      linearizabilityTimeout: linTimeout,
      stats: this.stats,
      trace: this.trace,
      config: this.config,
    };
  }
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
