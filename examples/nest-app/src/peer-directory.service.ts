import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Publisher, RegistryClient, Subscriber, UserDataValue } from '@sofareg/client';
import { InjectRegistryClient } from '@sofareg/client/nest';
import type { ExampleConfig } from './example-config';
import { EXAMPLE_CONFIG } from './example.tokens';

/** What `GET /peers` answers. */
export interface PeersView {
  service: string;
  self: string | undefined;
  /** True once the session acknowledged this instance's address. */
  selfSynced: boolean;
  peerService: string;
  /** Addresses of the peer service, all zones, sorted. */
  peers: string[];
  /** Datum version of the peer list; undefined before the first push. */
  version: number | undefined;
  connection: string;
}

/** Flattens a pushed datum into a sorted list of addresses. */
export function addressesOf(data: UserDataValue | undefined): string[] {
  return Object.values(data?.zoneData ?? {})
    .flat()
    .sort();
}

/**
 * Subscribes to the peer service at boot and publishes this instance's address once it listens. The registry
 * client (closed by its module at shutdown) takes care of reconnecting and re-registering.
 */
@Injectable()
export class PeerDirectory implements OnApplicationBootstrap {
  private readonly log = new Logger(PeerDirectory.name);
  private subscriber: Subscriber | undefined;
  private publisher: Publisher | undefined;
  private selfSynced = false;

  constructor(
    @InjectRegistryClient() private readonly client: RegistryClient,
    @Inject(EXAMPLE_CONFIG) private readonly config: ExampleConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.subscriber = this.client.subscribe({ dataId: this.config.peerService, scope: 'dataCenter' }, (dataId, data) =>
      this.log.log(`${dataId} v${data.version}: ${addressesOf(data).join(', ') || '(no providers)'}`),
    );
  }

  /** Publishes `address` (host:port) under this instance's service. Call once, after listening. */
  announce(address: string): Publisher {
    if (this.publisher) throw new Error('announce() was already called');
    this.publisher = this.client.publish({ dataId: this.config.service }, address);
    this.publisher.synced().then(
      () => {
        this.selfSynced = true;
        this.log.log(`published ${this.config.service} at ${address}`);
      },
      (e: Error) => this.log.error(`publishing ${address} failed: ${e.message}`),
    );
    return this.publisher;
  }

  view(): PeersView {
    const data = this.subscriber?.peekData();
    return {
      service: this.config.service,
      self: this.publisher?.dataList[0],
      selfSynced: this.selfSynced,
      peerService: this.config.peerService,
      peers: addressesOf(data),
      version: data?.version,
      connection: this.client.phase,
    };
  }
}
