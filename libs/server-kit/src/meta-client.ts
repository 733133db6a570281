import { EventEmitter } from 'node:events';
import { MetaEvent, MetaServiceClient, NodeInfo, ProvideData, SlotSettings, SlotTable } from '@sofareg/contracts';
import { MetaClientDriver, type MetaClientEvent, type MetaClientPort } from '@sofareg/meta-core';
import type { Logger } from 'pino';
import { callUnary } from './grpc';
import { ClientPool } from './pool';

/** What a MetaClient needs to know. */
export interface MetaClientOptions {
  /** Any meta addresses; followers redirect to the leader. */
  metaAddresses: string[];
  node: NodeInfo;
  /** Data servers send theirs; meta refuses a server whose settings differ from the cluster's. */
  slotSettings?: SlotSettings;
  heartbeatIntervalMs?: number;
  logger: Logger;
}

/**
 * Events: `slotTable` (SlotTable), `dataNodes` / `sessionNodes` (NodeInfo[]), `provideData` (ProvideData),
 * `refused` (ErrorInfo).
 */
export interface MetaClientEvents {
  slotTable: [SlotTable];
  dataNodes: [NodeInfo[]];
  sessionNodes: [NodeInfo[]];
  provideData: [ProvideData];
  refused: [{ code: string; message: string }];
}

/** Deadline of one heartbeat call. */
const HEARTBEAT_TIMEOUT_MS = 2_000;
/** Deadline of the leave call on stop. */
const LEAVE_TIMEOUT_MS = 1_000;

/**
 * Keeps a server registered with the meta cluster: a heartbeat every second (renewing its lease), and one
 * watch stream over which meta pushes slot-table, membership and provide-data changes. Follows the meta
 * leader on NotLeader answers and rotates through the given addresses when one is unreachable. Holds the
 * latest slot table; never goes back in epoch.
 *
 * A thin shell: every decision is meta-core's {@link MetaClientCore}, driven by {@link MetaClientDriver}
 * through this class's grpc-js {@link MetaClientPort} (calls, the stream, timers, events, logs).
 */
export class MetaClient extends EventEmitter<MetaClientEvents> {
  private readonly pool = new ClientPool(MetaServiceClient);
  private readonly driver: MetaClientDriver;
  private leaving: Promise<unknown> | undefined;
  private firstTable!: () => void;
  /** Resolves once a slot table has been received. */
  readonly ready = new Promise<void>((resolve) => (this.firstTable = resolve));

  constructor(private readonly opts: MetaClientOptions) {
    super();
    this.driver = new MetaClientDriver({ ...opts, random: { next: Math.random } }, this.grpcPort());
  }

  get slotTable(): SlotTable | undefined {
    return this.driver.core.slotTable;
  }
  get dataNodes(): readonly NodeInfo[] {
    return this.driver.core.dataNodes;
  }
  get sessionNodes(): readonly NodeInfo[] {
    return this.driver.core.sessionNodes;
  }
  provideData(key: string): ProvideData | undefined {
    return this.driver.core.provideData(key);
  }
  allProvideData(): ProvideData[] {
    return this.driver.core.allProvideData();
  }

  start(): void {
    this.driver.start();
  }

  /** Tells meta this server leaves (so its lease need not expire) and stops. */
  async stop(leave = true): Promise<void> {
    this.driver.stop(leave);
    await this.leaving;
    this.pool.closeAll();
  }

  private grpcPort(): MetaClientPort {
    return {
      now: () => Date.now(),
      heartbeat: (address, request, answered, failed) => {
        const client = this.pool.get(address);
        const call = callUnary(client, client.heartbeat, request, HEARTBEAT_TIMEOUT_MS);
        call.then(answered, (err: Error) => failed(err.message));
      },
      watch: (address, request, handlers) => {
        const call = this.pool.get(address).watch(request);
        let open = true;
        const ended = (why: string) => {
          if (!open) return;
          open = false;
          handlers.ended(why);
        };
        call.on('data', (ev: MetaEvent) => handlers.event(ev));
        call.on('error', (err) => ended(err.message));
        call.on('end', () => ended('end'));
        return () => {
          open = false;
          call.cancel();
        };
      },
      leave: (address, request) => {
        const client = this.pool.get(address);
        this.leaving = callUnary(client, client.leave, request, LEAVE_TIMEOUT_MS).catch(() => undefined);
      },
      timer: (atMs, fire) => {
        const timer = setTimeout(fire, Math.max(0, atMs - Date.now()));
        return () => clearTimeout(timer);
      },
      emit: (event) => this.emitEvent(event),
      log: (level, message, fields) => this.opts.logger[level](fields, message),
    };
  }

  private emitEvent(event: MetaClientEvent): void {
    switch (event.name) {
      case 'slotTable':
        this.emit('slotTable', event.value);
        this.firstTable();
        return;
      case 'dataNodes':
      case 'sessionNodes':
        this.emit(event.name, event.value);
        return;
      case 'provideData':
        this.emit('provideData', event.value);
        return;
      case 'refused':
        this.emit('refused', event.value);
        return;
    }
  }
}
