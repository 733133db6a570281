import type { ClientMessage, ConfigPush, DataPush, ErrorInfo, RegisterResult } from '@sofareg/contracts';
import { ErrorCode, ErrorValue, Scope, UserDataValue } from '@sofareg/model';
import { toUserDataValue } from './messages';

/**
 * Every registration the client holds, and what goes on the wire for it. Pure (no I/O, no clock): the shell
 * sends the messages this returns and feeds back what the session answers.
 *
 * Ordering contract, on every (re)connection ({@link RegistrationBook.onConnected}):
 * 1. every registration already announced on an earlier connection, in creation order, at its current state
 *    (publishers at their current version and dataList): the **replay**;
 * 2. then the registrations created while offline, in creation order: the **offline queue**.
 * Changes made offline to announced registrations (republish, unregister) need no queue entry: the replay
 * sends the current state, and an unregistered record is simply not replayed (the session already dropped
 * everything of the closed connection).
 */
export type RegistrationRecord = PublisherRecord | SubscriberRecord | ConfiguratorRecord;

interface RecordBase {
  readonly registerId: string;
  /** True once sent on some connection: from then on, every reconnection replays it. */
  announced: boolean;
  /** True once the session acknowledged it (for a publisher: its first version). */
  acked: boolean;
}

/** A publisher: `version` is what the client wants, `ackedVersion` what the session acknowledged. */
export interface PublisherRecord extends RecordBase {
  readonly kind: 'publisher';
  readonly dataId: string;
  readonly instanceId: string;
  readonly group: string;
  readonly dataInfoId: string;
  readonly appName: string;
  dataList: readonly string[];
  version: number;
  /** 0 until the first acknowledgement. */
  ackedVersion: number;
}

/** A subscriber and the datum it holds (only ever replaced by a strictly newer version). */
export interface SubscriberRecord extends RecordBase {
  readonly kind: 'subscriber';
  readonly dataId: string;
  readonly instanceId: string;
  readonly group: string;
  readonly dataInfoId: string;
  readonly scope: Scope;
  readonly appName: string;
  heldVersion: number | undefined;
  data: UserDataValue | undefined;
}

/** A configurator (watch of one provide-data key) and the value it holds. */
export interface ConfiguratorRecord extends RecordBase {
  readonly kind: 'configurator';
  readonly key: string;
  heldVersion: number | undefined;
  value: string | undefined;
  exists: boolean;
}

/** What a request in flight was about. */
export interface PendingRequest {
  readonly requestId: number;
  readonly registerId: string;
  readonly op: 'register' | 'unregister';
  readonly kind: RegistrationRecord['kind'];
  /** For a publish: the version sent. */
  readonly version: number;
}

/** What a `result` from the session means for the application. */
export type ResultOutcome =
  /** Unknown or stale request id (answer to an earlier connection, or to a superseded request). */
  | { readonly type: 'ignored' }
  /** Registration acknowledged; for publishers `ackedVersion` is what the session now holds. */
  | { readonly type: 'registered'; readonly record: RegistrationRecord; readonly ackedVersion: number }
  /** Refused for good (InvalidArgument, Blocked): the record is dropped and never replayed. */
  | { readonly type: 'rejected'; readonly record: RegistrationRecord; readonly error: ErrorValue }
  /** Refused for now (Unavailable, Overloaded, …): the record stays; resend it after a delay. */
  | { readonly type: 'retry'; readonly record: RegistrationRecord; readonly error: ErrorValue }
  | { readonly type: 'unregistered'; readonly registerId: string }
  | { readonly type: 'unregisterFailed'; readonly registerId: string; readonly error: ErrorValue };

/** What a data push does: callbacks to run (in registerIds order) and how many were dropped as not newer. */
export interface PushOutcome {
  readonly deliveries: readonly SubscriberRecord[];
  readonly dropped: number;
  /** registerIds of the push that this client no longer holds (unregistered meanwhile). */
  readonly unknown: number;
}

/** What a config push does; see {@link PushOutcome}. */
export interface ConfigOutcome {
  readonly deliveries: readonly ConfiguratorRecord[];
  readonly dropped: number;
  readonly unknown: number;
}

/** Result of trying to add a registration: the messages to send now, or why it cannot be added. */
export type AddResult =
  { readonly ok: true; readonly messages: ClientMessage[] } | { readonly ok: false; readonly error: ErrorValue };

/** Error codes after which a registration is not retried. */
const TERMINAL_CODES: ReadonlySet<string> = new Set([ErrorCode.InvalidArgument, ErrorCode.Blocked]);

/** See the file comment. Bounded: at most `offlineQueueSize` registrations wait in the offline queue. */
export class RegistrationBook {
  private readonly records = new Map<string, RegistrationRecord>();
  private readonly offline = new Set<string>();
  private readonly pending = new Map<number, PendingRequest>();
  /** Pending requestIds per registerId, ascending: "is a newer request in flight" without scanning them all. */
  private readonly pendingOf = new Map<string, number[]>();
  private nextRequestId = 1;
  private connected = false;

  /**
   * @param offlineQueueSize most registrations that may be created while not connected
   * @param localZone the client's zone, used when a push carries no localZone
   */
  constructor(
    private readonly offlineQueueSize: number,
    private readonly localZone: string,
  ) {}

  /** Registrations held, in creation order. */
  list(): readonly RegistrationRecord[] {
    return [...this.records.values()];
  }

  get(registerId: string): RegistrationRecord | undefined {
    return this.records.get(registerId);
  }

  get size(): number {
    return this.records.size;
  }

  /** How many registrations wait in the offline queue. */
  get queued(): number {
    return this.offline.size;
  }

  /** Requests sent on the current connection and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  isConnected(): boolean {
    return this.connected;
  }

  /** Adds a registration: sent at once when connected, else queued (fails when the queue is full). */
  add(record: RegistrationRecord): AddResult {
    if (this.records.has(record.registerId)) {
      return {
        ok: false,
        error: {
          code: ErrorCode.InvalidArgument,
          field: 'registerId',
          message: `duplicate registerId ${record.registerId}`,
        },
      };
    }
    if (!this.connected) {
      if (this.offline.size >= this.offlineQueueSize) {
        return {
          ok: false,
          error: {
            code: ErrorCode.Overloaded,
            message:
              `offline queue full: ${this.offline.size} registrations already wait for a connection ` +
              `(offlineQueueSize ${this.offlineQueueSize}); await client.ready() or raise offlineQueueSize`,
          },
        };
      }
      this.records.set(record.registerId, record);
      this.offline.add(record.registerId);
      return { ok: true, messages: [] };
    }
    this.records.set(record.registerId, record);
    return { ok: true, messages: [this.registerMessage(record)] };
  }

  /**
   * Replaces a publisher's dataList and bumps its version. Returns the publish to send now (empty while
   * offline: the replay or the offline queue will carry the current version). Unknown ids return [].
   */
  republish(registerId: string, dataList: readonly string[]): ClientMessage[] {
    const record = this.records.get(registerId);
    if (!record || record.kind !== 'publisher') return [];
    record.dataList = dataList;
    record.version += 1;
    return this.connected ? [this.registerMessage(record)] : [];
  }

  /**
   * Drops a registration. Connected: returns the unregister to send (its answer resolves it). Offline: returns
   * `local: true` and nothing to send, since the session holds nothing of a closed connection.
   */
  remove(registerId: string): { messages: ClientMessage[]; local: boolean } {
    const record = this.records.get(registerId);
    if (!record) return { messages: [], local: true };
    this.records.delete(registerId);
    this.offline.delete(registerId);
    if (!this.connected || !record.announced) return { messages: [], local: true };
    return { messages: [this.unregisterMessage(record)], local: false };
  }

  /** The message that (re)sends a held registration at its current state, when connected. */
  resend(registerId: string): ClientMessage[] {
    const record = this.records.get(registerId);
    return record && this.connected ? [this.registerMessage(record)] : [];
  }

  /** A connection is established: returns the replay followed by the offline queue (see the file comment). */
  onConnected(): ClientMessage[] {
    this.connected = true;
    this.clearPending();
    const out: ClientMessage[] = [];
    for (const record of this.records.values()) {
      if (record.announced) out.push(this.registerMessage(record));
    }
    for (const registerId of this.offline) {
      const record = this.records.get(registerId);
      if (record && !record.announced) out.push(this.registerMessage(record));
    }
    this.offline.clear();
    return out;
  }

  /**
   * The connection is gone. Returns the registerIds whose unregister was in flight: they are done (the session
   * drops everything of a closed connection). Answers to earlier requests are ignored from now on.
   */
  onDisconnected(): string[] {
    this.connected = false;
    const unregistered: string[] = [];
    for (const p of this.pending.values()) if (p.op === 'unregister') unregistered.push(p.registerId);
    this.clearPending();
    return unregistered;
  }

  /** Applies a `result`. */
  onResult(result: RegisterResult): ResultOutcome {
    const pending = this.pending.get(result.requestId);
    if (!pending || pending.registerId !== result.registerId) return { type: 'ignored' };
    this.untrack(pending);
    const error = result.ok ? undefined : toErrorValue(result.error);
    if (pending.op === 'unregister') {
      return error
        ? { type: 'unregisterFailed', registerId: pending.registerId, error }
        : { type: 'unregistered', registerId: pending.registerId };
    }
    const record = this.records.get(pending.registerId);
    if (!record) return { type: 'ignored' };
    if (error) {
      if (TERMINAL_CODES.has(error.code)) {
        this.records.delete(record.registerId);
        return { type: 'rejected', record, error };
      }
      // A newer request of the same record may still be in flight; retry only if this is the latest.
      if (this.hasNewerPending(record.registerId, result.requestId)) return { type: 'ignored' };
      return { type: 'retry', record, error };
    }
    record.acked = true;
    if (record.kind === 'publisher') {
      const acked = result.version > 0 ? result.version : pending.version;
      record.ackedVersion = Math.max(record.ackedVersion, acked);
      return { type: 'registered', record, ackedVersion: record.ackedVersion };
    }
    return { type: 'registered', record, ackedVersion: 0 };
  }

  /**
   * Applies a data push: each listed subscriber gets it only if its version is greater than the one it holds.
   * The caller acks the push whatever this returns.
   */
  onPush(push: DataPush): PushOutcome {
    const deliveries: SubscriberRecord[] = [];
    let dropped = 0;
    let unknown = 0;
    const version = push.data?.version ?? 0;
    let value: UserDataValue | undefined;
    for (const registerId of push.registerIds) {
      const record = this.records.get(registerId);
      if (!record || record.kind !== 'subscriber') {
        unknown++;
        continue;
      }
      if (record.heldVersion !== undefined && version <= record.heldVersion) {
        dropped++;
        continue;
      }
      value ??= toUserDataValue(push.data, this.localZone);
      record.heldVersion = version;
      record.data = value;
      deliveries.push(record);
    }
    return { deliveries, dropped, unknown };
  }

  /** Applies a config push; same version rule as {@link onPush}. */
  onConfig(config: ConfigPush): ConfigOutcome {
    const deliveries: ConfiguratorRecord[] = [];
    let dropped = 0;
    let unknown = 0;
    for (const registerId of config.registerIds) {
      const record = this.records.get(registerId);
      if (!record || record.kind !== 'configurator') {
        unknown++;
        continue;
      }
      if (record.heldVersion !== undefined && config.version <= record.heldVersion) {
        dropped++;
        continue;
      }
      record.heldVersion = config.version;
      record.exists = config.exists;
      record.value = config.exists ? config.value : undefined;
      deliveries.push(record);
    }
    return { deliveries, dropped, unknown };
  }

  private hasNewerPending(registerId: string, requestId: number): boolean {
    const ids = this.pendingOf.get(registerId);
    return ids !== undefined && ids[ids.length - 1] > requestId;
  }

  private track(
    registerId: string,
    op: PendingRequest['op'],
    kind: RegistrationRecord['kind'],
    version: number,
  ): number {
    const requestId = this.nextRequestId++;
    this.pending.set(requestId, { requestId, registerId, op, kind, version });
    const ids = this.pendingOf.get(registerId);
    if (ids) ids.push(requestId);
    else this.pendingOf.set(registerId, [requestId]);
    return requestId;
  }

  private untrack(p: PendingRequest): void {
    this.pending.delete(p.requestId);
    const ids = this.pendingOf.get(p.registerId);
    if (!ids) return;
    const i = ids.indexOf(p.requestId);
    if (i >= 0) ids.splice(i, 1);
    if (ids.length === 0) this.pendingOf.delete(p.registerId);
  }

  private clearPending(): void {
    this.pending.clear();
    this.pendingOf.clear();
  }

  private registerMessage(record: RegistrationRecord): ClientMessage {
    record.announced = true;
    switch (record.kind) {
      case 'publisher': {
        const requestId = this.track(record.registerId, 'register', record.kind, record.version);
        return {
          body: {
            $case: 'publish',
            value: {
              requestId,
              registerId: record.registerId,
              dataId: record.dataId,
              instanceId: record.instanceId,
              group: record.group,
              dataList: [...record.dataList],
              version: record.version,
              appName: record.appName,
            },
          },
        };
      }
      case 'subscriber': {
        const requestId = this.track(record.registerId, 'register', record.kind, 0);
        return {
          body: {
            $case: 'subscribe',
            value: {
              requestId,
              registerId: record.registerId,
              dataId: record.dataId,
              instanceId: record.instanceId,
              group: record.group,
              scope: record.scope,
              appName: record.appName,
            },
          },
        };
      }
      case 'configurator': {
        const requestId = this.track(record.registerId, 'register', record.kind, 0);
        return { body: { $case: 'watchConfig', value: { requestId, registerId: record.registerId, key: record.key } } };
      }
    }
  }

  private unregisterMessage(record: RegistrationRecord): ClientMessage {
    const version = record.kind === 'publisher' ? record.version : 0;
    const requestId = this.track(record.registerId, 'unregister', record.kind, version);
    switch (record.kind) {
      case 'publisher':
        return { body: { $case: 'unpublish', value: { requestId, registerId: record.registerId, version } } };
      case 'subscriber':
        return { body: { $case: 'unsubscribe', value: { requestId, registerId: record.registerId } } };
      case 'configurator':
        return { body: { $case: 'unwatchConfig', value: { requestId, registerId: record.registerId } } };
    }
  }
}

/** Maps the wire `ErrorInfo` to an {@link ErrorValue}; an unknown or missing code becomes `Internal`. */
export function toErrorValue(info: ErrorInfo | undefined): ErrorValue {
  const known = Object.values(ErrorCode) as string[];
  const code = info && known.includes(info.code) ? (info.code as ErrorCode) : ErrorCode.Internal;
  const value: ErrorValue = {
    code,
    message: info?.message || `the session refused the request (${info?.code || 'no code'})`,
  };
  if (info?.field) value.field = info.field;
  if (info?.leader) value.leader = info.leader;
  return value;
}
