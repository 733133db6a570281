import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  Empty,
  ErrorInfo,
  GetProvideDataRequest,
  GetProvideDataResponse,
  GetSlotTableRequest,
  HeartbeatRequest,
  HeartbeatResponse,
  LeaveRequest,
  ListNodesRequest,
  ListNodesResponse,
  MetaEvent,
  MetaServiceService,
  NodeInfo,
  SlotTable,
  WatchRequest,
} from '@sofareg/contracts';
import { CONFIG, GrpcServerHandle, LOGGER, Logger, METRICS, Metrics, Readiness, grpc, startGrpcServer } from '@sofareg/server-kit';
import { MetaLeader } from './core/meta-leader';
import { MetaChange, MetaCommand } from './core/meta-state';
import { MetaConfig } from './meta-config';
import { META_STORE } from './meta.tokens';
import { MetaStoreError, type MetaStore } from './meta-store';

type Watcher = grpc.ServerWritableStream<WatchRequest, MetaEvent>;

/** How often the leader looks for expired leases and slot moves. */
const TICK_MS = 100;
/** Wait before retrying a failed read barrier of a new leader. */
const BARRIER_RETRY_MS = 100;
/** A read barrier unanswered this long is asked again (its heartbeat round may have been lost). */
const BARRIER_TIMEOUT_MS = 1_000;

/**
 * Meta's control plane around the Raft-replicated {@link MetaStore}: the gRPC MetaService that session and
 * data servers heartbeat to and watch, and the leader's duties, decided by the pure {@link MetaLeader}:
 * leases (in memory, on the leader), evictions and slot arrangement, all written through Raft.
 *
 * On a follower every call that needs the leader answers NotLeader with the leader's client address. A new
 * leader first passes a read barrier (it then holds everything committed), gives every known server a fresh
 * lease, and only then serves slot tables, opens watch streams (held until then) and evicts anyone.
 */
@Injectable()
export class MetaService implements OnApplicationBootstrap, OnApplicationShutdown, Readiness {
  private grpcServer: GrpcServerHandle | undefined;
  readonly leader: MetaLeader;
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private tickQueued = false;
  /** Watch streams served (leader, caught up). */
  private readonly watchers = new Set<Watcher>();
  /** Watch streams opened while this new leader catches up: served once it has. */
  private readonly waiting = new Set<Watcher>();
  private stopping = false;
  private readonly evictions;
  private readonly heartbeats;
  private readonly epochGauge;
  private readonly leaderChanges;

  constructor(
    @Inject(CONFIG) private readonly config: MetaConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: Metrics,
    @Inject(META_STORE) private readonly store: MetaStore,
  ) {
    this.leader = new MetaLeader({
      leaseMs: config.leaseMs,
      suspectMs: config.suspectMs,
      warmupMs: config.warmupMs,
      takeoverGraceMs: config.takeoverGraceMs,
      slotCount: config.slots,
      replicas: config.replicas,
    });
    this.evictions = metrics.counter('meta_evictions_total', 'servers removed because their lease expired', ['role']);
    this.heartbeats = metrics.counter('meta_heartbeats_total', 'heartbeats received', ['role']);
    this.leaderChanges = metrics.counter('meta_leader_changes_total', 'times this node saw the meta leader change');
    this.epochGauge = metrics.gauge('meta_slot_table_epoch', 'epoch of the current slot table');
    const watchers = this.watchers;
    metrics.gauge('meta_watchers', 'open watch streams', [], function () {
      this.set(watchers.size);
    });
    const leader = this.leader;
    metrics.gauge('meta_is_leader', '1 on the meta leader (once caught up)', [], function () {
      this.set(leader.ready ? 1 : 0);
    });
    metrics.gauge('meta_raft_term', 'Raft term of this meta node', [], function () {
      this.set(store.raftStatus()?.term ?? 0);
    });
  }

  get selfAddress(): string {
    return `${this.config.advertiseHost}:${this.config.port}`;
  }

  /** Ready (health 200) once a leader is known. */
  isReady(): boolean {
    return this.store.leaderAddress() !== undefined;
  }

  detail(): Record<string, unknown> {
    return {
      nodeId: this.store.nodeId,
      leader: this.store.leaderAddress() ?? null,
      leaderId: this.store.leaderId() ?? null,
      isLeader: this.store.isLeader(),
      phase: this.leader.state,
      epoch: this.store.state.slotTable?.epoch ?? 0,
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    this.store.on('leader', (leader) => this.onLeaderChange(leader));
    this.store.on('applied', (changes) => this.onApplied(changes));
    await this.store.start();
    this.grpcServer = await startGrpcServer(this.config.host, this.config.port, [
      { definition: MetaServiceService, implementation: this.grpcImplementation() },
    ]);
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.logger.info(
      { nodeId: this.store.nodeId, grpc: this.selfAddress, http: `${this.config.advertiseHost}:${this.config.httpPort}`, raft: this.config.metaPeers[this.store.nodeId]?.raft, members: Object.keys(this.config.metaPeers) },
      'meta listening',
    );
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'meta shutting down');
    this.stopping = true;
    clearInterval(this.timer);
    for (const w of [...this.watchers, ...this.waiting]) w.end();
    await this.grpcServer?.shutdown();
    await this.store.stop();
  }

  /** Proposes a change through the store (used by the admin API); rejects with MetaStoreError NotLeader on a follower. */
  propose(cmd: MetaCommand): Promise<void> {
    return this.store.propose(cmd);
  }

  /** Whether this node is the Raft leader and has registered it (it may be catching up). */
  private leads(): boolean {
    return this.store.isLeader() && this.leader.state !== 'follower';
  }

  private onLeaderChange(leader: string | undefined): void {
    this.leaderChanges.inc();
    if (this.store.isLeader()) {
      if (this.leader.state !== 'follower') return;
      this.leader.elected();
      const gen = ++this.generation;
      this.logger.info({ nodeId: this.store.nodeId, term: this.store.raftStatus()?.term }, 'this meta node was elected; catching up');
      this.catchUp(gen, Date.now());
      return;
    }
    if (this.leader.state !== 'follower') {
      this.leader.deposed();
      this.generation++;
      this.logger.info({ leader }, 'this meta node no longer leads');
    } else {
      this.logger.info({ leader }, leader ? 'meta leader changed' : 'meta leader unknown');
    }
    const error: ErrorInfo = { code: 'NotLeader', message: 'meta leader changed', field: '', leader: leader ?? '' };
    for (const w of [...this.watchers, ...this.waiting]) {
      w.write({ event: { $case: 'error', value: error } });
      w.end();
    }
    this.watchers.clear();
    this.waiting.clear();
  }

  /** Read barrier, then start leading: every known server gets a fresh lease before anyone is evicted. */
  private catchUp(gen: number, electedAt: number): void {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${BARRIER_TIMEOUT_MS} ms`)), BARRIER_TIMEOUT_MS);
    });
    Promise.race([this.store.barrier(), timeout]).finally(() => clearTimeout(timer)).then(
      () => {
        if (gen !== this.generation || !this.leader.caughtUp(this.store.state, Date.now())) return;
        const s = this.store.state;
        this.logger.info(
          { nodeId: this.store.nodeId, caughtUpMs: Date.now() - electedAt, dataServers: Object.keys(s.dataNodes).length, sessions: Object.keys(s.sessionNodes).length, epoch: s.slotTable?.epoch ?? 0 },
          'this meta node leads; every known server has a fresh lease',
        );
        for (const w of this.waiting) this.serveWatch(w);
        this.waiting.clear();
        this.tickSoon();
      },
      (err: Error) => {
        if (gen !== this.generation || this.stopping) return;
        this.logger.warn({ err: err.message }, 'read barrier of the new leader failed; retrying');
        setTimeout(() => this.catchUp(gen, electedAt), BARRIER_RETRY_MS);
      },
    );
  }

  private onApplied(changes: MetaChange[]): void {
    const s = this.store.state;
    for (const c of changes) {
      let event: MetaEvent['event'];
      if (c.kind === 'slotTable' && s.slotTable) {
        event = { $case: 'slotTable', value: s.slotTable };
        this.epochGauge.set(s.slotTable.epoch);
        if (this.leader.ready) this.logger.info({ epoch: s.slotTable.epoch, dataServers: Object.keys(s.dataNodes).length }, 'slot table published');
      } else if (c.kind === 'dataNodes') {
        event = { $case: 'dataNodes', value: this.listNodes('data') };
        this.tickSoon();
      } else if (c.kind === 'sessionNodes') {
        event = { $case: 'sessionNodes', value: this.listNodes('session') };
      } else if (c.kind === 'provideData') {
        const pd = s.provideData[c.key];
        if (pd) event = { $case: 'provideData', value: pd };
      }
      if (event) for (const w of this.watchers) w.write({ event });
    }
  }

  private listNodes(role: string): ListNodesResponse {
    const s = this.store.state;
    const nodes = role === 'data' ? s.dataNodes : role === 'session' ? s.sessionNodes : {};
    return { nodes: Object.values(nodes).sort((a, b) => a.address.localeCompare(b.address)), version: 0, leader: this.store.leaderAddress() ?? '' };
  }

  private tickSoon(): void {
    if (this.tickQueued || this.stopping) return;
    this.tickQueued = true;
    setImmediate(() => {
      this.tickQueued = false;
      this.tick();
    });
  }

  /** The leader's duties: evict servers whose lease ran out, publish a new slot table when needed. */
  private tick(): void {
    if (this.stopping || !this.leader.ready || !this.store.isLeader()) return;
    let actions;
    try {
      actions = this.leader.tick(this.store.state, Date.now());
    } catch (err) {
      // A throw here would end the process from a timer, and the next leader would do the same: log, retry.
      this.logger.error({ err }, 'leader tick failed; retrying on the next tick');
      return;
    }
    for (const action of actions) {
      if (action.kind === 'evict') {
        this.evictions.inc({ role: action.role });
        this.logger.warn({ address: action.address, role: action.role, leaseMs: this.config.leaseMs }, 'lease expired; removing server');
      }
      this.store
        .propose(action.cmd)
        .catch((err: Error) => this.logger.warn({ err: err.message, action: action.kind }, 'leader proposal failed; will retry'))
        .finally(() => {
          this.leader.settled(action.cmd);
          this.tickSoon();
        });
    }
  }

  private notLeader(): HeartbeatResponse {
    const leader = this.store.leaderAddress() ?? '';
    return {
      ok: false,
      error: { code: 'NotLeader', message: `not the meta leader; retry at ${leader || 'another meta server'}`, field: '', leader },
      slotTableEpoch: 0,
      slotTable: undefined,
      leader,
      leaseMs: this.config.leaseMs,
    };
  }

  private async heartbeat(req: HeartbeatRequest): Promise<HeartbeatResponse> {
    if (!this.leads()) return this.notLeader();
    const node = req.node;
    if (!node || !node.address || (node.role !== 'data' && node.role !== 'session')) {
      return { ...this.notLeader(), error: { code: 'InvalidArgument', message: 'node.address and node.role (data|session) are required', field: 'node', leader: '' } };
    }
    if (node.role === 'data' && req.slotSettings) {
      const mine = { slotCount: this.config.slots, replicas: this.config.replicas, hash: 'crc32c' };
      const theirs = req.slotSettings;
      if (theirs.slotCount !== mine.slotCount || theirs.replicas !== mine.replicas || theirs.hash !== mine.hash) {
        return {
          ...this.notLeader(),
          error: {
            code: 'SlotSettingsMismatch',
            message: `slot settings differ from the cluster's: server has slots=${theirs.slotCount} replicas=${theirs.replicas} hash=${theirs.hash}, meta has slots=${mine.slotCount} replicas=${mine.replicas} hash=${mine.hash}`,
            field: 'slotSettings',
            leader: '',
          },
        };
      }
    }
    this.heartbeats.inc({ role: node.role });
    const register = this.leader.heartbeat(node, this.store.state, Date.now());
    if (register) {
      const known = (node.role === 'data' ? this.store.state.dataNodes : this.store.state.sessionNodes)[node.address];
      this.logger.info({ address: node.address, role: node.role, processId: node.processId }, known ? 'server restarted' : 'server joined');
      try {
        await this.store.propose(register);
      } catch (err) {
        // Leadership moved while registering: tell the server where to go (it registers there).
        if (err instanceof MetaStoreError && err.code === 'NotLeader') return this.notLeader();
        throw err;
      } finally {
        this.leader.settled(register);
      }
    }
    const table = this.leader.ready ? this.store.state.slotTable : undefined;
    return {
      ok: true,
      error: undefined,
      slotTableEpoch: table?.epoch ?? 0,
      slotTable: table && table.epoch > req.slotTableEpoch ? table : undefined,
      leader: this.store.leaderAddress() ?? '',
      leaseMs: this.config.leaseMs,
    };
  }

  /** Sends the whole state to a new watcher and adds it to those that receive every change. */
  private serveWatch(call: Watcher): void {
    const s = this.store.state;
    // A table the watcher already holds is not sent again (so what a server receives never goes back).
    if (s.slotTable && s.slotTable.epoch > call.request.slotTableEpoch) call.write({ event: { $case: 'slotTable', value: s.slotTable } });
    call.write({ event: { $case: 'dataNodes', value: this.listNodes('data') } });
    call.write({ event: { $case: 'sessionNodes', value: this.listNodes('session') } });
    for (const pd of Object.values(s.provideData)) call.write({ event: { $case: 'provideData', value: pd } });
    this.watchers.add(call);
  }

  private watch(call: Watcher): void {
    if (!this.leads()) {
      const leader = this.store.leaderAddress() ?? '';
      call.write({ event: { $case: 'error', value: { code: 'NotLeader', message: 'not the meta leader', field: '', leader } } });
      call.end();
      return;
    }
    const watcher = call.request.node?.address;
    if (watcher) this.leader.watchOpened(watcher);
    if (this.leader.ready) this.serveWatch(call);
    else this.waiting.add(call);
    const drop = () => {
      const had = this.watchers.delete(call) || this.waiting.delete(call);
      if (!had || !watcher || this.stopping) return;
      this.leader.watchClosed(watcher, Date.now());
    };
    call.on('cancelled', drop);
    call.on('close', drop);
    call.on('error', drop);
  }

  private grpcImplementation(): grpc.UntypedServiceImplementation {
    const unary =
      <Req, Res>(fn: (req: Req) => Promise<Res> | Res) =>
      (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
        Promise.resolve()
          .then(() => fn(call.request))
          .then((res) => cb(null, res))
          .catch((err: Error) => {
            if (err instanceof MetaStoreError) cb({ code: grpc.status.UNAVAILABLE, details: `${err.code} ${err.leader}: ${err.message}` });
            else {
              this.logger.error({ err }, 'meta call failed');
              cb({ code: grpc.status.INTERNAL, details: err.message });
            }
          });
      };
    return {
      heartbeat: unary((req: HeartbeatRequest) => this.heartbeat(req)),
      getSlotTable: unary((_req: GetSlotTableRequest): SlotTable => this.store.state.slotTable ?? { epoch: 0, slotCount: this.config.slots, replicas: this.config.replicas, slots: [] }),
      listNodes: unary((req: ListNodesRequest) => this.listNodes(req.role)),
      getProvideData: unary((req: GetProvideDataRequest): GetProvideDataResponse => {
        const all = this.store.state.provideData;
        const keys = req.keys.length > 0 ? req.keys : Object.keys(all);
        return { values: keys.map((k) => all[k]).filter((v) => v !== undefined) };
      }),
      leave: unary(async (req: LeaveRequest): Promise<Empty> => {
        const node = req.node;
        if (!node || !this.leads()) return {};
        const cmd = this.leader.leave(node, this.store.state);
        if (cmd) {
          this.logger.info({ address: node.address, role: node.role }, 'server leaves');
          await this.store.propose(cmd);
        }
        return {};
      }),
      watch: (call: Watcher) => this.watch(call),
    };
  }
}

export type { NodeInfo };
