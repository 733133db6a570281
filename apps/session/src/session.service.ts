import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ClientMessage, NodeInfo, ServerMessage, SessionServiceService, SlotTable } from '@sofareg/contracts';
import { CONFIG, GrpcServerHandle, LOGGER, Logger, METRICS, MetaClient, Metrics, Readiness, grpc, startGrpcServer } from '@sofareg/server-kit';
import { SessionNode } from '@sofareg/session-node';
import { ClientConnections } from './client-connections';
import { ClientStreamService } from './client-stream.service';
import { GrpcSessionPort } from './grpc-session-port';
import { ProvideDataService } from './provide-data.service';
import { SessionConfig } from './session-config';
import { SessionIdentity } from './session-identity';
import { SessionSyncServer } from './sync/session-sync.server';

/**
 * A session server's life: registers with meta, follows its slot table and provide-data, serves client streams
 * (port 9600) and data servers' sync (port 9602), and stops in the reverse order. The decisions are the
 * {@link SessionNode}'s; client streams are {@link ClientStreamService}'s.
 */
@Injectable()
export class SessionService implements OnApplicationBootstrap, OnApplicationShutdown, Readiness {
  private grpcServer: GrpcServerHandle | undefined;
  private stopping = false;

  constructor(
    @Inject(CONFIG) private readonly config: SessionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: Metrics,
    private readonly identity: SessionIdentity,
    private readonly meta: MetaClient,
    private readonly node: SessionNode,
    private readonly port: GrpcSessionPort,
    private readonly connections: ClientConnections,
    private readonly streams: ClientStreamService,
    private readonly provideData: ProvideDataService,
    private readonly syncServer: SessionSyncServer,
  ) {
    const registry = node.registry;
    metrics.gauge('session_publishers', 'publishers held', [], function () {
      this.set(registry.publisherCount);
    });
    metrics.gauge('session_subscribers', 'subscribers held', [], function () {
      this.set(registry.subscriberCount);
    });
    metrics.gauge('session_connections', 'client connections', [], function () {
      this.set(connections.size);
    });
  }

  get selfAddress(): string {
    return this.identity.address;
  }

  get slotTable(): SlotTable | undefined {
    return this.meta.slotTable;
  }

  get zone(): string {
    return this.config.zone;
  }

  get sessionNodes(): readonly NodeInfo[] {
    return this.meta.sessionNodes;
  }

  /** Pushes awaiting acknowledgement. */
  get pendingPushes(): number {
    return this.node.pipeline.pendingPushes;
  }

  isReady(): boolean {
    return !this.stopping && this.meta.slotTable !== undefined && this.grpcServer !== undefined;
  }

  detail(): Record<string, unknown> {
    return { epoch: this.meta.slotTable?.epoch ?? 0, connections: this.connections.size };
  }

  async onApplicationBootstrap(): Promise<void> {
    this.meta.on('slotTable', (t) => this.node.onSlotTable(t));
    this.meta.on('provideData', (pd) => this.provideData.onProvideData(pd));
    this.node.start();
    this.meta.start();
    // Data servers rebuild slots from what this session holds (port 9602).
    await this.syncServer.start(this.config.host, this.config.syncPort);
    const connect = (call: grpc.ServerDuplexStream<ClientMessage, ServerMessage>) => this.streams.accept(call);
    this.grpcServer = await startGrpcServer(this.config.host, this.config.port, [
      { definition: SessionServiceService, implementation: { connect } },
    ]);
    const http = `${this.config.advertiseHost}:${this.config.httpPort}`;
    this.logger.info({ grpc: this.selfAddress, http, processId: this.identity.processId }, 'session listening');
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal, connections: this.connections.size }, 'session shutting down');
    this.stopping = true;
    this.streams.closeAll();
    await this.grpcServer?.shutdown();
    await this.syncServer.stop();
    this.node.pipeline.stop();
    await this.meta.stop();
    this.node.stop();
    this.port.close();
  }
}
