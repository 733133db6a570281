import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { DataNodeDriver, DataServerCore } from '@sofareg/data-core';
import { HashRing } from '@sofareg/hash-ring';
import { CONFIG, GrpcJsTransport, LOGGER, Logger, MetaClient, Readiness } from '@sofareg/server-kit';
import type { Subscription } from 'rxjs';
import { DataConfig } from './data-config';
import { selfAddress } from './data-node.providers';
import { DATA_CORE, DATA_NODE_DRIVER, DATA_TRANSPORT, META_CLIENT } from './data.tokens';

/**
 * The data node's life: registers with meta, feeds meta's slot tables (through the {@link HashRing}) and
 * session lists to the {@link DataNodeDriver}, starts and stops it, and reports readiness (a slot table taken
 * and the gRPC transport bound).
 */
@Injectable()
export class DataNodeService implements OnApplicationBootstrap, BeforeApplicationShutdown, Readiness {
  private tables: Subscription | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: DataConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(DATA_CORE) private readonly core: DataServerCore,
    @Inject(DATA_NODE_DRIVER) private readonly driver: DataNodeDriver,
    @Inject(META_CLIENT) private readonly meta: MetaClient,
    @Inject(DATA_TRANSPORT) private readonly transport: GrpcJsTransport,
    private readonly ring: HashRing,
  ) {}

  isReady(): boolean {
    return this.core.slotTable !== undefined && this.transport.port !== undefined;
  }

  detail(): Record<string, unknown> {
    const statuses: Record<string, number> = {};
    for (const s of this.core.slots.values()) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
    return { epoch: this.core.slotTable?.epoch ?? 0, publishers: this.core.publisherCount, slots: statuses };
  }

  onApplicationBootstrap(): void {
    const self = selfAddress(this.config);
    this.tables = this.ring.changes.subscribe((t) => {
      this.driver.onSlotTable(t);
      const { leads, follows } = this.ring.rolesOf(self);
      this.logger.info({ epoch: t.epoch, leads: leads.length, follows: follows.length }, 'slot table applied');
    });
    this.meta.on('refused', (e) => {
      this.logger.fatal({ code: e.code }, `meta refused this data server: ${e.message}`);
      process.exit(1);
    });
    this.meta.on('slotTable', (t) => this.ring.update(t));
    this.meta.on('sessionNodes', (nodes) => this.driver.onSessionNodes(nodes));
    this.meta.start();
    this.driver.start();
    const http = `${this.config.advertiseHost}:${this.config.httpPort}`;
    this.logger.info({ grpc: self, http }, 'data listening');
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'data shutting down');
    this.tables?.unsubscribe();
    this.driver.stop();
    await this.meta.stop();
  }
}
