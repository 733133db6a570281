import type {
  HeartbeatRequest,
  HeartbeatResponse,
  LeaveRequest,
  MetaEvent,
  NodeInfo,
  ProvideData,
  SlotSettings,
  SlotTable,
  WatchRequest,
} from '@sofareg/contracts';

/** A source of floats in [0, 1): `Math.random` in the shell, a seeded source in simulations. */
export interface RandomSource {
  next(): number;
}

/** Settings of a {@link MetaClientCore}. */
export interface MetaClientCoreOptions {
  /** Any meta addresses; followers redirect to the leader. Must not be empty. */
  metaAddresses: readonly string[];
  node: NodeInfo;
  /** Data servers send theirs; meta refuses a server whose settings differ from the cluster's. */
  slotSettings?: SlotSettings;
  /** Default 1,000 ms. */
  heartbeatIntervalMs?: number;
  /** Jitter for the reopen back-off of the watch stream. */
  random: RandomSource;
}

/** What a MetaClient tells its owner, with the value it carries. */
export type MetaClientEvent =
  | { name: 'slotTable'; value: SlotTable }
  | { name: 'dataNodes'; value: NodeInfo[] }
  | { name: 'sessionNodes'; value: NodeInfo[] }
  | { name: 'provideData'; value: ProvideData }
  | { name: 'refused'; value: { code: string; message: string } };

/** The timers a MetaClient wants: the next heartbeat, the reopening of the watch stream. */
export type MetaClientTimer = 'heartbeat' | 'watch';

/**
 * The I/O a {@link MetaClientCore} asks for, in order. The shell reports each outcome back: a heartbeat's
 * answer or failure, a watch stream's events and end, a timer that fired.
 */
export type MetaClientEffect =
  | { kind: 'heartbeat'; address: string; attempt: number; request: HeartbeatRequest }
  | { kind: 'openWatch'; address: string; watch: number; request: WatchRequest }
  | { kind: 'cancelWatch'; watch: number }
  | { kind: 'leave'; address: string; request: LeaveRequest }
  | { kind: 'schedule'; timer: MetaClientTimer; atMs: number }
  | { kind: 'cancelTimers' }
  | { kind: 'emit'; event: MetaClientEvent }
  | { kind: 'log'; level: 'debug' | 'warn' | 'error'; message: string; fields: Record<string, unknown> };

/** Re-beats at once after a NotLeader that names another leader, at most this many times in a row. */
const MAX_REDIRECT_BEATS = 3;
/** A watch stream the leader redirected is reopened this soon (the leader is known). */
const REDIRECT_REOPEN_MS = 20;
/** A watch stream that failed is reopened after this plus up to {@link REOPEN_JITTER_MS} (spread the herd). */
const REOPEN_BASE_MS = 200;
const REOPEN_JITTER_MS = 200;

/**
 * The decisions of a MetaClient, pure (time and randomness passed in, no I/O): which meta server to talk to,
 * when to heartbeat, when to (re)open the one watch stream, and what the slot table, node lists and
 * provide-data values are. Every input returns the effects to carry out; see the README for its states.
 *
 * Contracts:
 * - The target is the leader hint when there is one, else the next of `metaAddresses` in turn. A call that
 *   fails, or a NotLeader without a leader, moves to the next address, unless a newer hint arrived meanwhile.
 * - A NotLeader naming another leader re-beats there at once (at most 3 times in a row); a watch stream ended
 *   by a NotLeader is reopened at the named leader after 20 ms, one that failed at the next address after
 *   200-400 ms.
 * - The slot table never goes back in epoch; a provide-data value never goes back in version. Events come
 *   only from the current watch stream (a replaced stream's late events are ignored).
 * - After {@link stop} nothing more is asked for.
 */
export class MetaClientCore {
  private target = 0;
  private hint: string | undefined;
  private stopped = false;
  private table: SlotTable | undefined;
  private dataNodeList: NodeInfo[] = [];
  private sessionNodeList: NodeInfo[] = [];
  private readonly provide = new Map<string, ProvideData>();
  private watchSeq = 0;
  /** The open watch stream: its id, its meta server, whether a NotLeader named the leader on it. */
  private watch: { id: number; address: string; redirected: boolean } | undefined;

  constructor(private readonly opts: MetaClientCoreOptions) {
    if (opts.metaAddresses.length === 0) throw new Error('--meta must name at least one meta server');
  }

  /** The latest slot table received, if any. */
  get slotTable(): SlotTable | undefined {
    return this.table;
  }
  get dataNodes(): readonly NodeInfo[] {
    return this.dataNodeList;
  }
  get sessionNodes(): readonly NodeInfo[] {
    return this.sessionNodeList;
  }
  /** The meta server the next call goes to. */
  get address(): string {
    return this.hint ?? this.opts.metaAddresses[this.target % this.opts.metaAddresses.length];
  }
  /** The leader a meta server named, until a call to it fails. */
  get leaderHint(): string | undefined {
    return this.hint;
  }
  /** The id of the open watch stream, if one is open. */
  get openWatchId(): number | undefined {
    return this.watch?.id;
  }
  provideData(key: string): ProvideData | undefined {
    return this.provide.get(key);
  }
  allProvideData(): ProvideData[] {
    return [...this.provide.values()];
  }

  /** Starts: a heartbeat now and every interval, and the watch stream. */
  start(nowMs: number): MetaClientEffect[] {
    return [...this.heartbeatDue(nowMs), ...this.openWatch()];
  }

  /** The heartbeat timer fired (or the client starts): beat the target and schedule the next. */
  heartbeatDue(nowMs: number): MetaClientEffect[] {
    if (this.stopped) return [];
    const next: MetaClientEffect = { kind: 'schedule', timer: 'heartbeat', atMs: nowMs + this.interval() };
    return [this.beat(0), next];
  }

  /** The heartbeat sent to `address` as try `attempt` was answered. */
  heartbeatAnswered(address: string, attempt: number, res: HeartbeatResponse): MetaClientEffect[] {
    if (this.stopped) return [];
    if (!res.ok) {
      if (res.error?.code === 'NotLeader') {
        this.hint = res.error.leader || undefined;
        if (!this.hint) this.rotate(address);
        // Told where the leader is: register there now rather than a second later.
        else if (this.hint !== address && attempt < MAX_REDIRECT_BEATS) return [this.beat(attempt + 1)];
        return [];
      }
      const code = res.error?.code ?? 'Refused';
      const message = res.error?.message ?? 'refused by meta';
      return [
        {
          kind: 'log',
          level: 'error',
          message: 'meta refused this server',
          fields: { meta: address, error: res.error },
        },
        { kind: 'emit', event: { name: 'refused', value: { code, message } } },
      ];
    }
    if (res.leader && res.leader !== address) this.hint = res.leader;
    return res.slotTable ? this.acceptTable(res.slotTable) : [];
  }

  /** The heartbeat sent to `address` failed (unreachable, deadline): try another meta server next. */
  heartbeatFailed(address: string, reason: string): MetaClientEffect[] {
    if (this.stopped) return [];
    this.rotate(address);
    const fields = { meta: address, err: reason };
    return [{ kind: 'log', level: 'warn', message: 'meta heartbeat failed; trying another meta server', fields }];
  }

  /** An event arrived on watch stream `watch`. */
  watchEvent(watch: number, ev: MetaEvent): MetaClientEffect[] {
    const event = ev.event;
    if (this.stopped || !event || this.watch?.id !== watch) return [];
    switch (event.$case) {
      case 'slotTable':
        return this.acceptTable(event.value);
      case 'dataNodes':
        this.dataNodeList = event.value.nodes;
        return [{ kind: 'emit', event: { name: 'dataNodes', value: event.value.nodes } }];
      case 'sessionNodes':
        this.sessionNodeList = event.value.nodes;
        return [{ kind: 'emit', event: { name: 'sessionNodes', value: event.value.nodes } }];
      case 'provideData': {
        const prev = this.provide.get(event.value.key);
        if (prev && event.value.version <= prev.version) return [];
        this.provide.set(event.value.key, event.value);
        return [{ kind: 'emit', event: { name: 'provideData', value: event.value } }];
      }
      case 'error':
        if (event.value.code === 'NotLeader') {
          this.hint = event.value.leader || undefined;
          this.watch.redirected = this.hint !== undefined;
        }
        return [];
    }
  }

  /** Watch stream `watch` ended (error or end): reopen it, at once at a named leader, else later elsewhere. */
  watchEnded(watch: number, why: string, nowMs: number): MetaClientEffect[] {
    const ended = this.watch;
    if (this.stopped || ended?.id !== watch) return [];
    this.watch = undefined;
    if (!ended.redirected) this.rotate(ended.address);
    const delay = ended.redirected
      ? REDIRECT_REOPEN_MS
      : REOPEN_BASE_MS + Math.floor(this.opts.random.next() * REOPEN_JITTER_MS);
    const fields = { meta: ended.address, why, redirected: ended.redirected };
    return [
      { kind: 'log', level: 'debug', message: 'meta watch ended; reopening', fields },
      { kind: 'schedule', timer: 'watch', atMs: nowMs + delay },
    ];
  }

  /** The watch timer fired: open the stream at the current target (unless one is open). */
  watchDue(): MetaClientEffect[] {
    if (this.stopped || this.watch) return [];
    return this.openWatch();
  }

  /** Stops: cancels timers and the stream, and with `leave` tells meta this server leaves. */
  stop(leave: boolean): MetaClientEffect[] {
    if (this.stopped) return [];
    this.stopped = true;
    const out: MetaClientEffect[] = [{ kind: 'cancelTimers' }];
    if (this.watch) out.push({ kind: 'cancelWatch', watch: this.watch.id });
    this.watch = undefined;
    if (leave) out.push({ kind: 'leave', address: this.address, request: { node: this.opts.node } });
    return out;
  }

  private interval(): number {
    return this.opts.heartbeatIntervalMs ?? 1_000;
  }

  private beat(attempt: number): MetaClientEffect {
    const request = {
      node: this.opts.node,
      slotTableEpoch: this.table?.epoch ?? 0,
      slotSettings: this.opts.slotSettings,
    };
    return { kind: 'heartbeat', address: this.address, attempt, request };
  }

  private openWatch(): MetaClientEffect[] {
    const id = ++this.watchSeq;
    const address = this.address;
    this.watch = { id, address, redirected: false };
    const request = { node: this.opts.node, slotTableEpoch: this.table?.epoch ?? 0 };
    return [{ kind: 'openWatch', address, watch: id, request }];
  }

  /** `failed` did not answer: try the next address, unless a newer leader hint arrived meanwhile. */
  private rotate(failed: string): void {
    if (this.hint !== undefined && this.hint !== failed) return;
    this.hint = undefined;
    this.target++;
  }

  private acceptTable(table: SlotTable): MetaClientEffect[] {
    if (this.table && table.epoch <= this.table.epoch) return [];
    this.table = table;
    return [{ kind: 'emit', event: { name: 'slotTable', value: table } }];
  }
}
