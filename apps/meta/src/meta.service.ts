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
  MetaServiceService,
  NodeInfo,
  SlotTable,
} from '@sofareg/contracts';
import {
  LeaderDuties,
  MetaCommand,
  heartbeatAnswer,
  listNodes,
  notLeaderAnswer,
  refuseHeartbeat,
  refusedAnswer,
} from '@sofareg/meta-core';
import { CONFIG, GrpcServerHandle, LOGGER, Logger, METRICS, Metrics, Readiness, grpc, startGrpcServer } from '@sofareg/server-kit';
import { LeadershipService } from './leadership.service';
import { MetaConfig } from './meta-config';
import { LEADER_DUTIES, META_STORE } from './meta.tokens';
import { MetaStoreError, type MetaStore } from './meta-store';
import { WatchHub, type Watcher } from './watch-hub.service';

/**
 * Meta's gRPC MetaService, which session and data servers heartbeat to and watch, around the Raft-replicated
 * {@link MetaStore}. The answers are decided in `@sofareg/meta-core`; the leader's duties run in
 * {@link LeadershipService}, the watch streams in {@link WatchHub}.
 *
 * On a follower every call that needs the leader answers NotLeader with the leader's client address. A new
 * leader serves slot tables, opens watch streams (held until then) and evicts anyone only once caught up.
 */
@Injectable()
export class MetaService implements OnApplicationBootstrap, OnApplicationShutdown, Readiness {
  private grpcServer: GrpcServerHandle | undefined;
  private readonly heartbeats;

  constructor(
    @Inject(CONFIG) private readonly config: MetaConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: Metrics,
    @Inject(META_STORE) private readonly store: MetaStore,
    @Inject(LEADER_DUTIES) private readonly duties: LeaderDuties,
    private readonly leadership: LeadershipService,
    private readonly watches: WatchHub,
  ) {
    this.heartbeats = metrics.counter('meta_heartbeats_total', 'heartbeats received', ['role']);
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
      phase: this.duties.state,
      epoch: this.store.state.slotTable?.epoch ?? 0,
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.store.start();
    this.grpcServer = await startGrpcServer(this.config.host, this.config.port, [
      { definition: MetaServiceService, implementation: this.grpcImplementation() },
    ]);
    this.leadership.start();
    const c = this.config;
    this.logger.info(
      {
        nodeId: this.store.nodeId,
        grpc: this.selfAddress,
        http: `${c.advertiseHost}:${c.httpPort}`,
        raft: c.metaPeers[this.store.nodeId]?.raft,
        members: Object.keys(c.metaPeers),
      },
      'meta listening',
    );
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'meta shutting down');
    this.leadership.stop();
    this.watches.endAll();
    await this.grpcServer?.shutdown();
    await this.store.stop();
  }

  /** Proposes a change through the store (used by the admin API); rejects with MetaStoreError NotLeader on a follower. */
  propose(cmd: MetaCommand): Promise<void> {
    return this.store.propose(cmd);
  }

  private leaderAddress(): string {
    return this.store.leaderAddress() ?? '';
  }

  private async heartbeat(req: HeartbeatRequest): Promise<HeartbeatResponse> {
    const leaseMs = this.config.leaseMs;
    if (!this.leadership.leads()) return notLeaderAnswer(this.leaderAddress(), leaseMs);
    const cluster = { slotCount: this.config.slots, replicas: this.config.replicas, hash: 'crc32c' };
    const refusal = refuseHeartbeat(req, cluster);
    if (refusal) return refusedAnswer(refusal, leaseMs);
    const node = req.node as NodeInfo; // refuseHeartbeat checked it
    this.heartbeats.inc({ role: node.role });
    const register = this.duties.heartbeat(node, this.store.state, Date.now());
    if (register) {
      const known = (node.role === 'data' ? this.store.state.dataNodes : this.store.state.sessionNodes)[node.address];
      const fields = { address: node.address, role: node.role, processId: node.processId };
      this.logger.info(fields, known ? 'server restarted' : 'server joined');
      try {
        await this.store.propose(register);
      } catch (err) {
        // Leadership moved while registering: tell the server where to go (it registers there).
        if (err instanceof MetaStoreError && err.code === 'NotLeader') return notLeaderAnswer(this.leaderAddress(), leaseMs);
        throw err;
      } finally {
        this.duties.settled(register);
      }
    }
    const table = this.duties.ready ? this.store.state.slotTable : undefined;
    return heartbeatAnswer(table, req.slotTableEpoch, this.leaderAddress(), leaseMs);
  }

  private async leave(req: LeaveRequest): Promise<Empty> {
    const node = req.node;
    if (!node || !this.leadership.leads()) return {};
    const cmd = this.duties.leave(node, this.store.state);
    if (cmd) {
      this.logger.info({ address: node.address, role: node.role }, 'server leaves');
      await this.store.propose(cmd);
    }
    return {};
  }

  private slotTable(): SlotTable {
    const empty = { epoch: 0, slotCount: this.config.slots, replicas: this.config.replicas, slots: [] };
    return this.store.state.slotTable ?? empty;
  }

  private provideData(req: GetProvideDataRequest): GetProvideDataResponse {
    const all = this.store.state.provideData;
    const keys = req.keys.length > 0 ? req.keys : Object.keys(all);
    return { values: keys.map((k) => all[k]).filter((v) => v !== undefined) };
  }

  private grpcImplementation(): grpc.UntypedServiceImplementation {
    const unary =
      <Req, Res>(fn: (req: Req) => Promise<Res> | Res) =>
      (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
        Promise.resolve()
          .then(() => fn(call.request))
          .then((res) => cb(null, res))
          .catch((err: Error) => {
            if (err instanceof MetaStoreError) {
              cb({ code: grpc.status.UNAVAILABLE, details: `${err.code} ${err.leader}: ${err.message}` });
            } else {
              this.logger.error({ err }, 'meta call failed');
              cb({ code: grpc.status.INTERNAL, details: err.message });
            }
          });
      };
    return {
      heartbeat: unary((req: HeartbeatRequest) => this.heartbeat(req)),
      getSlotTable: unary((_req: GetSlotTableRequest) => this.slotTable()),
      listNodes: unary((req: ListNodesRequest) => listNodes(this.store.state, req.role, this.leaderAddress())),
      getProvideData: unary((req: GetProvideDataRequest) => this.provideData(req)),
      leave: unary((req: LeaveRequest) => this.leave(req)),
      watch: (call: Watcher) => this.watches.open(call, this.leadership.leads()),
    };
  }
}
