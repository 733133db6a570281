import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  Empty,
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
import { arrange } from '@sofareg/consistent-hash';
import { CONFIG, GrpcServerHandle, LOGGER, Logger, METRICS, Metrics, Readiness, grpc, startGrpcServer } from '@sofareg/server-kit';
import { LeaseTable } from './core/lease-table';
import { MetaChange, MetaCommand } from './core/meta-state';
import { MetaConfig } from './meta-config';
import { META_STORE } from './meta.tokens';
import type { MetaStore } from './meta-store';

/**
 * Meta's control plane: leases of session and data servers (kept by the leader, in memory), slot arrangement
 * when data servers join or leave (on the leader, after a warm-up), and the gRPC service that servers
 * heartbeat to and watch. Every change goes through the {@link MetaStore}.
 */
@Injectable()
export class MetaService implements OnApplicationBootstrap, OnApplicationShutdown, Readiness {
  private grpcServer: GrpcServerHandle | undefined;
  private readonly leases: LeaseTable;
  private leaderSince = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly watchers = new Set<grpc.ServerWritableStream<WatchRequest, MetaEvent>>();
  private arranging = false;
  private stopping = false;
  private readonly evictions;
  private readonly heartbeats;
  private readonly epochGauge;

  constructor(
    @Inject(CONFIG) private readonly config: MetaConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: Metrics,
    @Inject(META_STORE) private readonly store: MetaStore,
  ) {
    this.leases = new LeaseTable(config.leaseMs);
    this.evictions = metrics.counter('meta_evictions_total', 'servers removed because their lease expired', ['role']);
    this.heartbeats = metrics.counter('meta_heartbeats_total', 'heartbeats received', ['role']);
    this.epochGauge = metrics.gauge('meta_slot_table_epoch', 'epoch of the current slot table');
    const watchers = this.watchers;
    metrics.gauge('meta_watchers', 'open watch streams', [], function () {
      this.set(watchers.size);
    });
    metrics.gauge('meta_is_leader', '1 on the meta leader', [], function () {
      this.set(store.isLeader() ? 1 : 0);
    });
  }

  get selfAddress(): string {
    return `${this.config.advertiseHost}:${this.config.port}`;
  }

  isReady(): boolean {
    return this.store.leaderAddress() !== undefined;
  }

  detail(): Record<string, unknown> {
    return { leader: this.store.leaderAddress() ?? null, isLeader: this.store.isLeader(), epoch: this.store.state.slotTable?.epoch ?? 0 };
  }

  async onApplicationBootstrap(): Promise<void> {
    this.store.on('leader', (leader) => this.onLeaderChange(leader));
    this.store.on('applied', (changes) => this.onApplied(changes));
    await this.store.start();
    this.grpcServer = await startGrpcServer(this.config.host, this.config.port, [
      { definition: MetaServiceService, implementation: this.grpcImplementation() },
    ]);
    this.timer = setInterval(() => this.tick(), 250);
    this.logger.info({ grpc: this.selfAddress, http: `${this.config.advertiseHost}:${this.config.httpPort}` }, 'meta listening');
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'meta shutting down');
    this.stopping = true;
    clearInterval(this.timer);
    for (const w of this.watchers) w.end();
    await this.grpcServer?.shutdown();
    await this.store.stop();
  }

  /** Proposes a change through the store (used by the admin API). */
  propose(cmd: MetaCommand): Promise<void> {
    return this.store.propose(cmd);
  }

  private onLeaderChange(leader: string | undefined): void {
    if (this.store.isLeader()) {
      this.leaderSince = Date.now();
      const s = this.store.state;
      // A new leader renews every known server before it evicts anyone.
      this.leases.renewAll([...Object.keys(s.dataNodes), ...Object.keys(s.sessionNodes)], this.leaderSince);
      this.logger.info({ leader }, 'this meta node leads');
    } else {
      this.logger.info({ leader }, 'meta leader changed');
      for (const w of this.watchers) {
        w.write({ event: { $case: 'error', value: { code: 'NotLeader', message: 'meta leader changed', field: '', leader: leader ?? '' } } });
        w.end();
      }
    }
  }

  private onApplied(changes: MetaChange[]): void {
    const s = this.store.state;
    for (const c of changes) {
      let event: MetaEvent['event'];
      if (c.kind === 'slotTable' && s.slotTable) {
        event = { $case: 'slotTable', value: s.slotTable };
        this.epochGauge.set(s.slotTable.epoch);
        this.logger.info({ epoch: s.slotTable.epoch }, 'slot table changed');
      } else if (c.kind === 'dataNodes') {
        event = { $case: 'dataNodes', value: this.listNodes('data') };
        this.arrangeSoon();
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

  private tick(): void {
    if (!this.store.isLeader()) return;
    const now = Date.now();
    for (const address of this.leases.expired(now)) {
      this.leases.forget(address);
      const s = this.store.state;
      const role = s.dataNodes[address] ? 'data' : s.sessionNodes[address] ? 'session' : undefined;
      if (!role) continue;
      this.evictions.inc({ role });
      this.logger.warn({ address, role, leaseMs: this.config.leaseMs }, 'lease expired; removing server');
      this.store.propose({ type: 'removeNode', role, address }).catch((err) => this.logger.error({ err, address }, 'could not remove server'));
    }
    this.arrangeSoon();
  }

  private arrangeSoon(): void {
    if (this.arranging || !this.store.isLeader()) return;
    if (Date.now() - this.leaderSince < this.config.warmupMs) return;
    const s = this.store.state;
    const live = Object.keys(s.dataNodes).sort();
    if (live.length === 0) return;
    const prev = s.slotTable as Parameters<typeof arrange>[0];
    const next = arrange(prev, live, { slotCount: this.config.slots, replicas: this.config.replicas });
    if (next === prev) return;
    this.arranging = true;
    this.store
      .propose({ type: 'setSlotTable', table: toWireTable(next) })
      .catch((err) => this.logger.error({ err }, 'could not publish the slot table'))
      .finally(() => (this.arranging = false));
  }

  private notLeader(): HeartbeatResponse {
    const leader = this.store.leaderAddress() ?? '';
    return { ok: false, error: { code: 'NotLeader', message: `not the meta leader; retry at ${leader || 'another meta server'}`, field: '', leader }, slotTableEpoch: 0, slotTable: undefined, leader, leaseMs: this.config.leaseMs };
  }

  private async heartbeat(req: HeartbeatRequest): Promise<HeartbeatResponse> {
    if (!this.store.isLeader()) return this.notLeader();
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
    this.leases.renew(node.address, Date.now());
    const s = this.store.state;
    const known = (node.role === 'data' ? s.dataNodes : s.sessionNodes)[node.address];
    if (!known || known.processId !== node.processId) {
      this.logger.info({ address: node.address, role: node.role, processId: node.processId }, known ? 'server restarted' : 'server joined');
      await this.store.propose({ type: 'registerNode', node });
    }
    const table = this.store.state.slotTable;
    return {
      ok: true,
      error: undefined,
      slotTableEpoch: table?.epoch ?? 0,
      slotTable: table && table.epoch > req.slotTableEpoch ? table : undefined,
      leader: this.store.leaderAddress() ?? '',
      leaseMs: this.config.leaseMs,
    };
  }

  private grpcImplementation(): grpc.UntypedServiceImplementation {
    const unary =
      <Req, Res>(fn: (req: Req) => Promise<Res> | Res) =>
      (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
        Promise.resolve()
          .then(() => fn(call.request))
          .then((res) => cb(null, res))
          .catch((err: Error & { code?: string; leader?: string }) => {
            if (err.code === 'NotLeader') cb({ code: grpc.status.UNAVAILABLE, details: `NotLeader ${err.leader ?? ''}` });
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
        if (node && this.store.isLeader()) {
          this.logger.info({ address: node.address, role: node.role }, 'server leaves');
          this.leases.forget(node.address);
          await this.store.propose({ type: 'removeNode', role: node.role, address: node.address });
        }
        return {};
      }),
      watch: (call: grpc.ServerWritableStream<WatchRequest, MetaEvent>) => {
        if (!this.store.isLeader()) {
          const leader = this.store.leaderAddress() ?? '';
          call.write({ event: { $case: 'error', value: { code: 'NotLeader', message: 'not the meta leader', field: '', leader } } });
          call.end();
          return;
        }
        this.watchers.add(call);
        const watcher = call.request.node?.address;
        if (watcher) this.leases.clearSuspect(watcher);
        const s = this.store.state;
        if (s.slotTable) call.write({ event: { $case: 'slotTable', value: s.slotTable } });
        call.write({ event: { $case: 'dataNodes', value: this.listNodes('data') } });
        call.write({ event: { $case: 'sessionNodes', value: this.listNodes('session') } });
        for (const pd of Object.values(s.provideData)) call.write({ event: { $case: 'provideData', value: pd } });
        const drop = () => {
          if (!this.watchers.delete(call) || !watcher || this.stopping) return;
          this.leases.suspect(watcher, Date.now(), this.config.suspectMs);
        };
        call.on('cancelled', drop);
        call.on('close', drop);
        call.on('error', drop);
      },
    };
  }
}

function toWireTable(t: ReturnType<typeof arrange>): SlotTable {
  return {
    epoch: t.epoch,
    slotCount: t.slotCount,
    replicas: t.replicas,
    slots: t.slots.map((s) => ({ id: s.id, leader: s.leader, leaderEpoch: s.leaderEpoch, followers: [...s.followers] })),
  };
}

export type { NodeInfo };
