import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@sofareg/testing';
import { type NodeId, SeededRandom } from '../src/core';
import { type RaftStorage, createMemoryRaftStorage, openRaftStorage } from '../src/storage';
import { KvStateMachine } from '../src/testing/kv-state-machine';
import { LocalNetwork } from '../src/shell/local-transport';
import { RaftNode, type RaftNodeOptions } from '../src/shell/raft-node';

/** A node of a {@link LocalCluster} with its state machine. */
export interface ClusterNode {
  id: NodeId;
  node: RaftNode;
  kv: KvStateMachine;
}

/**
 * Holds a node's log appends while closed (a stuck fsync): a write started meanwhile resolves only once
 * {@link release} is called. Open, it adds nothing (not even a microtask) to an append.
 */
export class AppendGate {
  private held: { promise: Promise<void>; open: () => void } | undefined;
  /** Appends waiting for {@link release}. */
  waiting = 0;

  hold(): void {
    if (this.held) return;
    let open = () => undefined as void;
    const promise = new Promise<void>((r) => (open = r));
    this.held = { promise, open };
  }

  release(): void {
    const h = this.held;
    this.held = undefined;
    h?.open();
  }

  /** Routes `storage`'s log appends through this gate (in place). */
  wrap(storage: RaftStorage): RaftStorage {
    const log = storage.log;
    const append = log.append.bind(log);
    log.append = (entries) => {
      const h = this.held;
      if (!h) return append(entries);
      this.waiting++;
      return h.promise.then(() => {
        this.waiting--;
        return append(entries);
      });
    };
    return storage;
  }
}

const SILENT = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Nodes on one {@link LocalNetwork} with fast ticks (10 ms), memory storage (or files in a temp dir when
 * `durable`), seeded election timeouts. `seed` is printed so a failing run can be replayed.
 */
export class LocalCluster {
  readonly net = new LocalNetwork();
  readonly nodes = new Map<NodeId, ClusterNode>();
  readonly peers: Record<NodeId, string>;
  /** One per node id: hold it to make the node's writes hang. */
  private readonly gates = new Map<NodeId, AppendGate>();
  private dirs = new Map<NodeId, string>();
  private root: string | undefined;
  private restarts = 0;

  constructor(
    readonly ids: NodeId[],
    readonly seed: number,
    private readonly extra: Partial<RaftNodeOptions> = {},
    private readonly durable = false,
  ) {
    this.peers = Object.fromEntries(ids.map((id, i) => [id, `127.0.0.1:${20000 + i}`]));
  }

  /** The gate of node `id`'s log appends (open until held). */
  gate(id: NodeId): AppendGate {
    let g = this.gates.get(id);
    if (!g) this.gates.set(id, (g = new AppendGate()));
    return g;
  }

  private async storage(id: NodeId): Promise<RaftStorage> {
    return this.gate(id).wrap(await this.openStorage(id));
  }

  private async openStorage(id: NodeId): Promise<RaftStorage> {
    if (!this.durable) return createMemoryRaftStorage();
    this.root ??= await mkdtemp(join(tmpdir(), 'raft-shell-'));
    let dir = this.dirs.get(id);
    if (!dir) this.dirs.set(id, (dir = join(this.root, id)));
    return openRaftStorage(dir);
  }

  /** Creates and starts node `id` (again, after `crash`, when durable). */
  async start(id: NodeId, options: Partial<RaftNodeOptions> = {}): Promise<ClusterNode> {
    const kv = new KvStateMachine();
    const { peers, ...rest } = options;
    const node = new RaftNode({
      id,
      storage: await this.storage(id),
      transport: this.net.transport(),
      stateMachine: kv,
      tickMs: 10,
      electionTicks: 10,
      random: new SeededRandom(this.seed * 31 + this.ids.indexOf(id) * 7 + this.restarts++),
      logger: SILENT,
      ...this.extra,
      ...rest,
      peers: { ...this.peers, ...peers },
    });
    await node.start();
    const cn = { id, node, kv };
    this.nodes.set(id, cn);
    return cn;
  }

  async startAll(): Promise<void> {
    for (const id of this.ids) await this.start(id);
  }

  get(id: NodeId): ClusterNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Waits until every running node agrees on one leader; returns it. */
  async leader(timeoutMs = 5_000): Promise<ClusterNode> {
    return waitUntil(
      'a leader all running nodes agree on',
      () => {
        const running = [...this.nodes.values()].filter((n) => n.node.state === 'running');
        const l = running.find((n) => n.node.isLeader);
        if (!l) return undefined;
        return running.every((n) => n.node.leaderId === l.id) ? l : undefined;
      },
      timeoutMs,
    );
  }

  /** Stops node `id` (its storage closes; a durable one can be started again). */
  async crash(id: NodeId): Promise<void> {
    await this.get(id).node.stop();
    this.nodes.delete(id);
  }

  async close(): Promise<void> {
    for (const g of this.gates.values()) g.release();
    await Promise.allSettled([...this.nodes.values()].map((n) => n.node.stop()));
    this.nodes.clear();
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}

/** Polls `check` every few ms until it returns a truthy value; throws naming `what` after `timeoutMs`. */
export function waitUntil<T>(what: string, check: () => T | undefined | false | null, timeoutMs = 5_000): Promise<T> {
  // In-process nodes change state within milliseconds: poll faster than the process harness's default.
  return waitFor(what, check, timeoutMs, 5);
}

/** A seed from the environment (RAFT_SEED) or the clock, printed for replay. */
export function testSeed(name: string): number {
  const seed = process.env.RAFT_SEED ? Number(process.env.RAFT_SEED) : Date.now() % 1_000_000;
  console.log(`${name}: seed ${seed} (replay with RAFT_SEED=${seed})`);
  return seed;
}
