import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import {
  Empty,
  GetProvideDataRequest,
  GetProvideDataResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  LeaveRequest,
  ListNodesResponse,
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
import { CONFIG, GrpcJsTransport, LOGGER, Logger, METRICS, Metrics, Readiness } from '@sofareg/server-kit';
import { LeadershipService } from './leadership.service';
import { MetaConfig } from './meta-config';
import { LEADER_DUTIES, META_STORE, META_TRANSPORTS } from './meta.tokens';
import { MetaStoreError, type MetaStore } from './meta-store';
import { WatchHub } from './watch-hub.service';

/**
 * What meta answers session and data servers (served by `MetaController`), around the Raft-replicated
 * {@link MetaStore}, and the node's start and stop. The answers are decided in `@sofareg/meta-core`; the
 * leader's duties run in {@link LeadershipService}, the watch streams in {@link WatchHub}.
 *
 * On a follower every call that needs the leader answers NotLeader with the leader's client address. A new
 * leader serves slot tables, opens watch streams (held until then) and evicts anyone only once caught up.
 */
@Injectable()
export class MetaService implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown, Readiness {
  private readonly heartbeats;

  constructor(
    @Inject(META_TRANSPORTS) private readonly transports: readonly GrpcJsTransport[],
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

  onModuleInit(): void {
    // Nest closes transports before shutdown hooks run: end the long-lived watch streams first, or the
    // transport's drain waits its whole grace for them.
    for (const t of this.transports) t.onClose(() => this.watches.endAll());
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.store.start();
    this.leadership.start();
    const config = this.config;
    this.logger.info(
      {
        nodeId: this.store.nodeId,
        grpc: this.selfAddress,
        http: `${config.advertiseHost}:${config.httpPort}`,
        raft: config.metaPeers[this.store.nodeId]?.raft,
        members: Object.keys(config.metaPeers),
      },
      'meta listening',
    );
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'meta shutting down');
    this.leadership.stop();
    this.watches.endAll();
    await this.store.stop();
  }

  /**
   * Proposes a change through the store (used by the admin API); rejects with MetaStoreError NotLeader on a
   * follower.
   */
  propose(cmd: MetaCommand): Promise<void> {
    return this.store.propose(cmd);
  }

  /** The registered servers of `role` as this node has applied them. */
  listNodes(role: string): ListNodesResponse {
    return listNodes(this.store.state, role, this.leaderAddress());
  }

  private leaderAddress(): string {
    return this.store.leaderAddress() ?? '';
  }

  /** A server's heartbeat: NotLeader on a follower; on the leader renews its lease and registers it if new. */
  async heartbeat(req: HeartbeatRequest): Promise<HeartbeatResponse> {
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
        const moved = err instanceof MetaStoreError && err.code === 'NotLeader';
        if (moved) return notLeaderAnswer(this.leaderAddress(), leaseMs);
        throw err;
      } finally {
        this.duties.settled(register);
      }
    }
    const table = this.duties.ready ? this.store.state.slotTable : undefined;
    return heartbeatAnswer(table, req.slotTableEpoch, this.leaderAddress(), leaseMs);
  }

  /** A server leaves: removed at once (on the leader; ignored elsewhere, its lease then runs out). */
  async leave(req: LeaveRequest): Promise<Empty> {
    const node = req.node;
    if (!node || !this.leadership.leads()) return {};
    const cmd = this.duties.leave(node, this.store.state);
    if (cmd) {
      this.logger.info({ address: node.address, role: node.role }, 'server leaves');
      await this.store.propose(cmd);
    }
    return {};
  }

  /** The applied slot table (an empty epoch-0 table before the first). */
  slotTable(): SlotTable {
    const empty = { epoch: 0, slotCount: this.config.slots, replicas: this.config.replicas, slots: [] };
    return this.store.state.slotTable ?? empty;
  }

  /** The applied provide-data values of the keys asked for (all when none). */
  provideData(req: GetProvideDataRequest): GetProvideDataResponse {
    const all = this.store.state.provideData;
    const keys = req.keys.length > 0 ? req.keys : Object.keys(all);
    return { values: keys.map((k) => all[k]).filter((v) => v !== undefined) };
  }
}
