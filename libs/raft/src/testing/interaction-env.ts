import {
  ConfChangeType,
  EntryType,
  MemoryStorage,
  Message,
  MessageType,
  NodeId,
  RawNode,
  ReadOnlyOption,
  Role,
  SeededRandom,
  applyReady,
} from '../core';
import { describeEntry, describeMessage, describeReady } from './describe';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One parsed script command: `name arg arg key=value`. */
export interface Command {
  name: string;
  args: string[];
  kv: Map<string, string>;
}

/** Parses one command line. */
export function parseCommand(line: string): Command {
  const parts = line.trim().split(/\s+/);
  const args: string[] = [];
  const kv = new Map<string, string>();
  for (const p of parts.slice(1)) {
    const i = p.indexOf('=');
    if (i > 0) kv.set(p.slice(0, i), p.slice(i + 1));
    else args.push(p);
  }
  return { name: parts[0], args, kv };
}

interface NodeOptions {
  preVote: boolean;
  checkQuorum: boolean;
  lease: boolean;
  electionTick: number;
  heartbeatTick: number;
  maxInflight: number;
  maxMsgSize: number;
}

interface EnvNode {
  id: NodeId;
  storage: MemoryStorage;
  node: RawNode | undefined;
  /** Applied normal entries as (index, text), rebuilt from snapshots on restart. */
  applied: { index: number; value: string }[];
  opts: NodeOptions;
  seed: number;
}

/**
 * The world of a scenario script: nodes with in-memory storage, a mailbox of messages in flight, and a
 * partition. Every Ready is persisted synchronously (so a crash loses nothing persisted). Commands print
 * what happened; the output of a script is its expected trace. Used by the `testdata/*.txt` scripts.
 */
export class InteractionEnv {
  private readonly nodes = new Map<NodeId, EnvNode>();
  private order: NodeId[] = [];
  private mailbox: Message[] = [];
  /** Group number of each node when partitioned; nodes in different groups cannot talk. */
  private groups: Map<NodeId, number> | undefined;
  private nextId = 1;

  /** Runs one command and returns its output lines. Unknown commands and bad arguments throw. */
  handle(line: string): string[] {
    const c = parseCommand(line);
    switch (c.name) {
      case 'add-nodes':
        return this.addNodes(c);
      case 'campaign':
        this.get(c.args[0]).campaign();
        return [];
      case 'tick':
        return this.tick(c.args[0], Number(c.args[1] ?? 1));
      case 'tick-election': {
        const n = this.env(c.args[0]);
        return this.tick(c.args[0], 2 * n.opts.electionTick - 1);
      }
      case 'tick-heartbeat': {
        const n = this.env(c.args[0]);
        return this.tick(c.args[0], n.opts.heartbeatTick);
      }
      case 'process-ready':
        return c.args.flatMap((id) => this.processReady(id));
      case 'deliver-msgs':
        return this.deliver(c.args, c.kv.get('drop'));
      case 'stabilize':
        return this.stabilize(c.args);
      case 'propose': {
        const r = this.get(c.args[0]).propose(enc.encode(c.args[1] ?? ''));
        return r.ok ? [] : [`rejected: ${r.code} (${r.message})`];
      }
      case 'propose-conf-change': {
        const spec = c.args[1];
        const type =
          spec[0] === 'v'
            ? ConfChangeType.AddVoter
            : spec[0] === 'l'
              ? ConfChangeType.AddLearner
              : ConfChangeType.RemoveNode;
        const r = this.get(c.args[0]).proposeConfChange({ type, nodeId: spec.slice(1) });
        return r.ok ? [] : [`rejected: ${r.code} (${r.message})`];
      }
      case 'read-index':
        this.get(c.args[0]).readIndex(enc.encode(c.args[1]));
        return [];
      case 'transfer-leader':
        this.get(c.args[0]).transferLeader(c.args[1]);
        return [];
      case 'partition':
        return this.partition(c.args);
      case 'isolate':
        return this.partition([c.args[0], this.order.filter((id) => id !== c.args[0]).join(',')]);
      case 'heal':
        return this.heal();
      case 'compact':
        return this.compact(c.args[0], Number(c.args[1]));
      case 'crash':
        return this.crash(c.args[0]);
      case 'restart':
        return this.restart(c.args[0]);
      case 'raft-state':
        return this.raftState();
      case 'raft-log':
        return this.raftLog(c.args[0]);
      case 'status':
        return this.status(c.args[0]);
      case 'applied':
        return this.order.map(
          (id) =>
            `${id}: ${this.env(id)
              .applied.map((a) => a.value)
              .join(' ')}`,
        );
      case 'counters':
        return this.order
          .filter((id) => this.env(id).node)
          .map((id) => `${id}: ${JSON.stringify(this.get(id).status().counters)}`);
      case 'send-stale':
        return this.sendStale(c);
      case 'log-level':
        return [];
      default:
        throw new Error(`unknown command '${c.name}'`);
    }
  }

  private env(id: NodeId): EnvNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  private get(id: NodeId): RawNode {
    const n = this.env(id).node;
    if (!n) throw new Error(`node ${id} is down`);
    return n;
  }

  /**
   * `add-nodes N [voters=1,2,3] [learners=4] [join] [prevote=false] [checkquorum=false] [lease=true]
   * [election=10] [heartbeat=5] [inflight=256] [msgsize=1048576]`. Without `join`, nodes bootstrap the
   * membership (default: voters = the nodes added); with `join` they start empty and wait for a leader.
   */
  private addNodes(c: Command): string[] {
    const n = Number(c.args[0]);
    const ids: NodeId[] = [];
    for (let i = 0; i < n; i++) ids.push(String(this.nextId++));
    const voters = c.kv.get('voters')?.split(',') ?? ids;
    const opts: NodeOptions = {
      preVote: c.kv.get('prevote') !== 'false',
      checkQuorum: c.kv.get('checkquorum') !== 'false',
      lease: c.kv.get('lease') === 'true',
      electionTick: Number(c.kv.get('election') ?? 10),
      heartbeatTick: Number(c.kv.get('heartbeat') ?? 5),
      maxInflight: Number(c.kv.get('inflight') ?? 256),
      maxMsgSize: Number(c.kv.get('msgsize') ?? 1 << 20),
    };
    const join = c.args.includes('join');
    for (const id of ids) {
      const storage = new MemoryStorage();
      const en: EnvNode = { id, storage, node: undefined, applied: [], opts, seed: Number(id) * 7919 };
      this.nodes.set(id, en);
      this.order.push(id);
      en.node = this.makeNode(en, join ? undefined : voters);
    }
    return [];
  }

  private makeNode(en: EnvNode, bootstrapVoters?: NodeId[]): RawNode {
    return new RawNode({
      id: en.id,
      storage: en.storage,
      random: new SeededRandom(en.seed),
      electionTick: en.opts.electionTick,
      heartbeatTick: en.opts.heartbeatTick,
      preVote: en.opts.preVote,
      checkQuorum: en.opts.checkQuorum,
      readOnlyOption: en.opts.lease ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe,
      maxInflightMsgs: en.opts.maxInflight,
      maxSizePerMsg: en.opts.maxMsgSize,
      bootstrapVoters,
    });
  }

  private tick(id: NodeId, n: number): string[] {
    const node = this.get(id);
    for (let i = 0; i < n; i++) node.tick();
    return [];
  }

  private processReady(id: NodeId): string[] {
    const en = this.env(id);
    const node = en.node;
    if (!node || !node.hasReady()) return [];
    const rd = node.ready();
    const out = [`> ${id} handling Ready`, ...describeReady(rd)];
    applyReady(node, rd, {
      persist: (r) => en.storage.persist(r),
      // Messages to a crashed node are lost.
      send: (ms) => {
        for (const m of ms) if (this.nodes.get(m.to)?.node !== undefined) this.mailbox.push(m);
      },
      apply: (r) => {
        if (r.snapshot) en.applied = decodeApplied(r.snapshot.data);
        for (const e of r.committedEntries) {
          if (e.type === EntryType.Normal && e.data.length > 0)
            en.applied.push({ index: e.index, value: dec.decode(e.data) });
        }
      },
    });
    return out;
  }

  private canTalk(a: NodeId, b: NodeId): boolean {
    if (!this.groups) return true;
    return this.groups.get(a) === this.groups.get(b);
  }

  private deliver(ids: NodeId[], drop?: string): string[] {
    const targets = ids.length > 0 ? new Set(ids) : undefined;
    const dropSet = new Set(drop ? drop.split(',') : []);
    const out: string[] = [];
    const keep: Message[] = [];
    const byTarget = new Map<NodeId, Message[]>();
    for (const m of this.mailbox) {
      if (targets && !targets.has(m.to) && !dropSet.has(m.to)) {
        keep.push(m);
        continue;
      }
      const list = byTarget.get(m.to) ?? [];
      list.push(m);
      byTarget.set(m.to, list);
    }
    this.mailbox = keep;
    for (const id of this.order) {
      const list = byTarget.get(id);
      if (!list) continue;
      if (dropSet.has(id)) {
        out.push(`> ${id} dropping messages`);
        for (const m of list) out.push(`  ${describeMessage(m)}`);
        continue;
      }
      out.push(`> ${id} receiving messages`);
      for (const m of list) {
        const en = this.nodes.get(id);
        if (!en?.node) {
          out.push(`  ${describeMessage(m)} DROPPED (node down)`);
          continue;
        }
        if (!this.canTalk(m.from, m.to)) {
          out.push(`  ${describeMessage(m)} DROPPED (partition)`);
          continue;
        }
        out.push(`  ${describeMessage(m)}`);
        en.node.step(m);
      }
    }
    for (const [id, list] of byTarget) {
      if (!this.nodes.has(id)) for (const m of list) out.push(`  ${describeMessage(m)} DROPPED (unknown node)`);
    }
    return out;
  }

  private stabilize(ids: NodeId[]): string[] {
    const set = ids.length > 0 ? ids : this.order;
    const out: string[] = [];
    for (let round = 0; round < 1000; round++) {
      let progressed = false;
      for (const id of set) {
        const lines = this.processReady(id);
        if (lines.length > 0) progressed = true;
        out.push(...lines);
      }
      const pending = this.mailbox.some((m) => set.includes(m.to));
      if (pending) {
        out.push(...this.deliver(set));
        progressed = true;
      }
      if (!progressed) return out;
    }
    throw new Error('stabilize did not settle in 1000 rounds');
  }

  private partition(groupsArgs: string[]): string[] {
    this.groups = new Map();
    groupsArgs.forEach((g, i) => {
      for (const id of g.split(',')) if (id) this.groups?.set(id, i);
    });
    return [];
  }

  /** Ends the partition; messages still in flight across it are lost. */
  private heal(): string[] {
    const out: string[] = [];
    this.mailbox = this.mailbox.filter((m) => {
      if (this.canTalk(m.from, m.to)) return true;
      out.push(`  ${describeMessage(m)} DROPPED (partition)`);
      return false;
    });
    this.groups = undefined;
    return out;
  }

  private compact(id: NodeId, index: number): string[] {
    const en = this.env(id);
    const node = this.get(id);
    const meta = node.snapshotMetaAt(index);
    if (!meta) return [`cannot snapshot at ${index}: the log no longer knows it`];
    const data = encodeApplied(en.applied.filter((a) => a.index <= index));
    en.storage.createSnapshot(index, meta.conf, data);
    en.storage.compact(index);
    return [`snapshot at ${index} (term ${meta.term}), log now ${en.storage.firstIndex()}..${en.storage.lastIndex()}`];
  }

  private crash(id: NodeId): string[] {
    const en = this.env(id);
    en.node = undefined;
    const lost = this.mailbox.filter((m) => m.to === id).length;
    this.mailbox = this.mailbox.filter((m) => m.to !== id);
    return lost > 0 ? [`dropped ${lost} messages to ${id}`] : [];
  }

  private restart(id: NodeId): string[] {
    const en = this.env(id);
    const snap = en.storage.snapshot();
    en.applied = snap ? decodeApplied(snap.data) : [];
    en.seed += 1;
    en.node = this.makeNode(en);
    return [];
  }

  private raftState(): string[] {
    return this.order.map((id) => {
      const n = this.env(id).node;
      if (!n) return `${id}: down`;
      const s = n.status();
      const voter = s.conf.voters.includes(id) ? 'Voter' : s.conf.learners.includes(id) ? 'Learner' : 'NonMember';
      return `${id}: ${s.softState.role} (${voter}) Term:${s.hardState.term} Lead:${s.softState.leader || '-'} Commit:${s.hardState.commit} Applied:${s.applied} Last:${s.lastIndex}`;
    });
  }

  private raftLog(id: NodeId): string[] {
    const en = this.env(id);
    const s = en.storage;
    const out: string[] = [];
    if (s.firstIndex() > 1) out.push(`snapshot ${s.firstIndex() - 1}/${s.term(s.firstIndex() - 1)}`);
    if (s.lastIndex() >= s.firstIndex()) {
      for (const e of s.entries(s.firstIndex(), s.lastIndex() + 1)) out.push(describeEntry(e));
    }
    return out.length > 0 ? out : ['log is empty'];
  }

  private status(id: NodeId): string[] {
    const s = this.get(id).status();
    const out = [
      `${id}: ${s.softState.role} Term:${s.hardState.term} Voters:[${s.conf.voters.join(' ')}] Learners:[${s.conf.learners.join(' ')}]`,
    ];
    if (s.progress) {
      for (const [pid, p] of Object.entries(s.progress)) {
        out.push(
          `  ${pid}: ${p.state} match=${p.match} next=${p.next}${p.learner ? ' learner' : ''}${p.paused ? ' paused' : ''}${p.inflight > 0 ? ` inflight=${p.inflight}` : ''}`,
        );
      }
    }
    return out;
  }

  /** `send-stale FROM TO type=App term=N`: inject a message as if from an old term (to test counters). */
  private sendStale(c: Command): string[] {
    const [from, to] = c.args;
    const type = MessageType[(c.kv.get('type') ?? 'App') as keyof typeof MessageType];
    const m: Message = {
      type,
      from,
      to,
      term: Number(c.kv.get('term') ?? 0),
      logTerm: 0,
      index: 0,
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
    };
    this.mailbox.push(m);
    return [];
  }

  /** Node ids in creation order. */
  ids(): NodeId[] {
    return [...this.order];
  }

  /** Whether a node is the leader (for custom assertions). */
  isLeader(id: NodeId): boolean {
    return this.env(id).node?.role === Role.Leader;
  }
}

function encodeApplied(xs: { index: number; value: string }[]): Uint8Array {
  return enc.encode(JSON.stringify(xs));
}

function decodeApplied(b: Uint8Array): { index: number; value: string }[] {
  if (b.length === 0) return [];
  return JSON.parse(dec.decode(b)) as { index: number; value: string }[];
}
