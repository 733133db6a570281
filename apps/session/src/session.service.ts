import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { NodeInfo, SlotTable } from '@sofareg/contracts';
import { HashRing } from '@sofareg/hash-ring';
import {
  CONFIG,
  GrpcJsTransport,
  LOGGER,
  Logger,
  META_CLIENT,
  METRICS,
  MetaClient,
  Metrics,
  Readiness,
} from '@sofareg/server-kit';
import { SessionNode } from '@sofareg/session-node';
import { ClientConnections } from './client-connections';
import { ClientStreamService } from './client-stream.service';
import { GrpcSessionPort } from './grpc-session-port';
import { ProvideDataService } from './provide-data.service';
import { SessionConfig } from './session-config';
import { SessionIdentity } from './session-identity';
import { SessionReadiness } from './session-readiness';
import { CLIENT_TRANSPORT } from './session.tokens';

/**
 * A session server's life: registers with meta, feeds meta's slot table to the hash ring and the session node,
 * applies provide-data, opens the gRPC ports' handlers (clients on 9600, data servers' sync on 9602; both
 * bound before this starts) and stops in the reverse order. The decisions are the {@link SessionNode}'s.
 */
@Injectable()
export class SessionService implements OnApplicationBootstrap, OnApplicationShutdown, Readiness {
  constructor(
    @Inject(CONFIG) private readonly config: SessionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: Metrics,
    @Inject(CLIENT_TRANSPORT) clientTransport: GrpcJsTransport | null,
    private readonly identity: SessionIdentity,
    @Inject(META_CLIENT) private readonly meta: MetaClient,
    private readonly ring: HashRing,
    private readonly node: SessionNode,
    private readonly port: GrpcSessionPort,
    private readonly connections: ClientConnections,
    private readonly streams: ClientStreamService,
    private readonly provideData: ProvideDataService,
    private readonly readiness: SessionReadiness,
  ) {
    // Nest closes transports before shutdown hooks run: client streams end first, so the drain is short and
    // clients see a clean end (they reconnect elsewhere).
    clientTransport?.onClose(() => this.streams.closeAll());
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
    return this.readiness.started && !this.readiness.stopping && this.meta.slotTable !== undefined;
  }

  detail(): Record<string, unknown> {
    return { epoch: this.meta.slotTable?.epoch ?? 0, connections: this.connections.size };
  }

  onApplicationBootstrap(): void {
    this.meta.on('slotTable', (t) => {
      // The ring keeps the newest table for routing; the node re-reads datums on every table meta sends.
      this.ring.update(t);
      this.node.onSlotTable(t);
    });
    this.meta.on('provideData', (pd) => this.provideData.onProvideData(pd));
    this.node.start();
    this.meta.start();
    this.readiness.started = true;
    const http = `${this.config.advertiseHost}:${this.config.httpPort}`;
    this.logger.info({ grpc: this.selfAddress, http, processId: this.identity.processId }, 'session listening');
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal, connections: this.connections.size }, 'session shutting down');
    this.streams.closeAll();
    this.node.pipeline.stop();
    await this.meta.stop();
    this.node.stop();
    this.port.close();
  }
}
