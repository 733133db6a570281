import { EventEmitter } from 'node:events';
import {
  HeartbeatResponse,
  MetaEvent,
  MetaServiceClient,
  NodeInfo,
  ProvideData,
  SlotSettings,
  SlotTable,
} from '@sofareg/contracts';
import type { Logger } from 'pino';
import { callUnary, grpc } from './grpc';
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

/** Events: `slotTable` (SlotTable), `dataNodes` / `sessionNodes` (NodeInfo[]), `provideData` (ProvideData), `refused` (ErrorInfo). */
export interface MetaClientEvents {
  slotTable: [SlotTable];
  dataNodes: [NodeInfo[]];
  sessionNodes: [NodeInfo[]];
  provideData: [ProvideData];
  refused: [{ code: string; message: string }];
}

/**
 * Keeps a server registered with the meta cluster: a heartbeat every second (renewing its lease), and one
 * watch stream over which meta pushes slot-table, membership and provide-data changes. Follows the meta
 * leader on NotLeader answers and rotates through the given addresses when one is unreachable. Holds the
 * latest slot table; never goes back in epoch.
 */
export class MetaClient extends EventEmitter<MetaClientEvents> {
  private readonly pool = new ClientPool(MetaServiceClient);
  private target = 0;
  private leaderHint: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watchCall: grpc.ClientReadableStream<MetaEvent> | undefined;
  private watchRetry: NodeJS.Timeout | undefined;
  private stopped = false;
  private table: SlotTable | undefined;
  private dataNodeList: NodeInfo[] = [];
  private sessionNodeList: NodeInfo[] = [];
  private readonly provide = new Map<string, ProvideData>();
  private firstTable!: () => void;
  /** Resolves once a slot table has been received. */
  readonly ready = new Promise<void>((resolve) => (this.firstTable = resolve));

  constructor(private readonly opts: MetaClientOptions) {
    super();
    if (opts.metaAddresses.length === 0) throw new Error('--meta must name at least one meta server');
  }

  get slotTable(): SlotTable | undefined {
    return this.table;
  }
  get dataNodes(): readonly NodeInfo[] {
    return this.dataNodeList;
  }
  get sessionNodes(): readonly NodeInfo[] {
    return this.sessionNodeList;
  }
  provideData(key: string): ProvideData | undefined {
    return this.provide.get(key);
  }
  allProvideData(): ProvideData[] {
    return [...this.provide.values()];
  }

  start(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.opts.heartbeatIntervalMs ?? 1_000);
    this.openWatch();
  }

  /** Tells meta this server leaves (so its lease need not expire) and stops. */
  async stop(leave = true): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.watchRetry);
    this.watchCall?.cancel();
    if (leave) {
      const client = this.pool.get(this.address());
      await callUnary(client, client.leave, { node: this.opts.node }, 1_000).catch(() => undefined);
    }
    this.pool.closeAll();
  }

  private address(): string {
    return this.leaderHint ?? this.opts.metaAddresses[this.target % this.opts.metaAddresses.length];
  }

  /** `failed` did not answer: try the next address, unless a newer leader hint arrived meanwhile. */
  private rotate(failed: string): void {
    if (this.leaderHint !== undefined && this.leaderHint !== failed) return;
    this.leaderHint = undefined;
    this.target++;
  }

  private async beat(attempt = 0): Promise<void> {
    if (this.stopped) return;
    const address = this.address();
    const client = this.pool.get(address);
    let res: HeartbeatResponse;
    try {
      res = await callUnary(client, client.heartbeat, {
        node: this.opts.node,
        slotTableEpoch: this.table?.epoch ?? 0,
        slotSettings: this.opts.slotSettings,
      }, 2_000);
    } catch (err) {
      this.opts.logger.warn({ meta: address, err: (err as Error).message }, 'meta heartbeat failed; trying another meta server');
      this.rotate(address);
      return;
    }
    if (!res.ok) {
      if (res.error?.code === 'NotLeader') {
        this.leaderHint = res.error.leader || undefined;
        if (!this.leaderHint) this.rotate(address);
        // Told where the leader is: register there now rather than a second later.
        else if (this.leaderHint !== address && attempt < 3) void this.beat(attempt + 1);
        return;
      }
      this.opts.logger.error({ meta: address, error: res.error }, 'meta refused this server');
      this.emit('refused', { code: res.error?.code ?? 'Refused', message: res.error?.message ?? 'refused by meta' });
      return;
    }
    if (res.leader && res.leader !== address) this.leaderHint = res.leader;
    if (res.slotTable) this.acceptTable(res.slotTable);
  }

  private acceptTable(table: SlotTable): void {
    if (this.table && table.epoch <= this.table.epoch) return;
    this.table = table;
    this.emit('slotTable', table);
    this.firstTable();
  }

  private openWatch(): void {
    if (this.stopped) return;
    const address = this.address();
    const client = this.pool.get(address);
    const call = client.watch({ node: this.opts.node, slotTableEpoch: this.table?.epoch ?? 0 });
    this.watchCall = call;
    let redirected = false;
    call.on('data', (ev: MetaEvent) => {
      const e = ev.event;
      if (!e) return;
      switch (e.$case) {
        case 'slotTable':
          this.acceptTable(e.value);
          break;
        case 'dataNodes':
          this.dataNodeList = e.value.nodes;
          this.emit('dataNodes', e.value.nodes);
          break;
        case 'sessionNodes':
          this.sessionNodeList = e.value.nodes;
          this.emit('sessionNodes', e.value.nodes);
          break;
        case 'provideData': {
          const prev = this.provide.get(e.value.key);
          if (!prev || e.value.version > prev.version) {
            this.provide.set(e.value.key, e.value);
            this.emit('provideData', e.value);
          }
          break;
        }
        case 'error':
          if (e.value.code === 'NotLeader') {
            this.leaderHint = e.value.leader || undefined;
            redirected = this.leaderHint !== undefined;
          }
          break;
      }
    });
    const again = (why: string) => {
      if (this.watchCall !== call || this.stopped) return;
      this.watchCall = undefined;
      this.opts.logger.debug({ meta: address, why, redirected }, 'meta watch ended; reopening');
      // Redirected to the leader: go there at once. Otherwise this address failed: back off, try the next.
      if (!redirected) this.rotate(address);
      this.watchRetry = setTimeout(() => this.openWatch(), redirected ? 20 : 200 + Math.floor(Math.random() * 200));
    };
    call.on('error', (err) => again(err.message));
    call.on('end', () => again('end'));
  }
}
