import { EventEmitter } from 'node:events';
import {
  MetaEvent,
  MetaServiceClient,
  NodeInfo,
  ProvideData,
  SlotSettings,
  SlotTable,
} from '@sofareg/contracts';
import { MetaClientCore, type MetaClientEffect, type MetaClientTimer } from '@sofareg/meta-core';
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
 * A thin driver over grpc-js: every decision is {@link MetaClientCore}'s; this class carries out its effects
 * (calls, the stream, timers, events, logs) and reports their outcomes back.
 */
export class MetaClient extends EventEmitter<MetaClientEvents> {
  private readonly pool = new ClientPool(MetaServiceClient);
  private readonly core: MetaClientCore;
  private readonly timers = new Map<MetaClientTimer, NodeJS.Timeout>();
  private watchCall: { id: number; call: grpc.ClientReadableStream<MetaEvent> } | undefined;
  private leaving: Promise<unknown> | undefined;
  private firstTable!: () => void;
  /** Resolves once a slot table has been received. */
  readonly ready = new Promise<void>((resolve) => (this.firstTable = resolve));

  constructor(private readonly opts: MetaClientOptions) {
    super();
    this.core = new MetaClientCore({ ...opts, random: { next: Math.random } });
  }

  get slotTable(): SlotTable | undefined {
    return this.core.slotTable;
  }
  get dataNodes(): readonly NodeInfo[] {
    return this.core.dataNodes;
  }
  get sessionNodes(): readonly NodeInfo[] {
    return this.core.sessionNodes;
  }
  provideData(key: string): ProvideData | undefined {
    return this.core.provideData(key);
  }
  allProvideData(): ProvideData[] {
    return this.core.allProvideData();
  }

  start(): void {
    this.run(this.core.start(Date.now()));
  }

  /** Tells meta this server leaves (so its lease need not expire) and stops. */
  async stop(leave = true): Promise<void> {
    this.run(this.core.stop(leave));
    await this.leaving;
    this.pool.closeAll();
  }

  private run(effects: MetaClientEffect[]): void {
    for (const e of effects) this.carryOut(e);
  }

  private carryOut(e: MetaClientEffect): void {
    switch (e.kind) {
      case 'heartbeat': {
        const client = this.pool.get(e.address);
        callUnary(client, client.heartbeat, e.request, HEARTBEAT_TIMEOUT_MS).then(
          (res) => this.run(this.core.heartbeatAnswered(e.address, e.attempt, res)),
          (err: Error) => this.run(this.core.heartbeatFailed(e.address, err.message)),
        );
        return;
      }
      case 'openWatch':
        return this.openWatch(e.address, e.watch, e.request);
      case 'cancelWatch':
        if (this.watchCall?.id === e.watch) this.watchCall.call.cancel();
        this.watchCall = undefined;
        return;
      case 'leave': {
        const client = this.pool.get(e.address);
        this.leaving = callUnary(client, client.leave, e.request, LEAVE_TIMEOUT_MS).catch(() => undefined);
        return;
      }
      case 'schedule': {
        clearTimeout(this.timers.get(e.timer));
        const due = () => this.run(e.timer === 'heartbeat' ? this.core.heartbeatDue(Date.now()) : this.core.watchDue());
        this.timers.set(e.timer, setTimeout(due, Math.max(0, e.atMs - Date.now())));
        return;
      }
      case 'cancelTimers':
        for (const t of this.timers.values()) clearTimeout(t);
        this.timers.clear();
        return;
      case 'emit':
        this.emitEvent(e.event);
        return;
      case 'log':
        this.opts.logger[e.level](e.fields, e.message);
        return;
    }
  }

  private emitEvent(event: Extract<MetaClientEffect, { kind: 'emit' }>['event']): void {
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

  private openWatch(address: string, id: number, request: Parameters<MetaServiceClient['watch']>[0]): void {
    const call = this.pool.get(address).watch(request);
    this.watchCall = { id, call };
    call.on('data', (ev: MetaEvent) => this.run(this.core.watchEvent(id, ev)));
    const ended = (why: string) => {
      if (this.watchCall?.id === id) this.watchCall = undefined;
      this.run(this.core.watchEnded(id, why, Date.now()));
    };
    call.on('error', (err) => ended(err.message));
    call.on('end', () => ended('end'));
  }
}
