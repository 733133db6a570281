import { randomUUID } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import type { ClientMessage, ConfigPush, DataPush, ServerHello, ServerMessage } from '@sofareg/contracts';
import {
  DEFAULT_GROUP,
  DEFAULT_INSTANCE_ID,
  ErrorCode,
  ErrorValue,
  RegistryError,
  notARegistrationObject,
  Scope,
  TurnCoalescer,
  toDataInfoId,
  validatePublish,
  validateSubscribe,
  validateWatchConfig,
} from '@sofareg/model';
import { Clock, systemClock } from './clock';
import { backoffDelay } from './core/backoff';
import {
  ConnectionEffect,
  ConnectionEvent,
  ConnectionMachineConfig,
  ConnectionPhase,
  ConnectionState,
  INITIAL_CONNECTION_STATE,
  MachineStatus,
  step,
} from './core/connection-machine';
import {
  ConfiguratorRecord,
  PublisherRecord,
  RegistrationBook,
  ResultOutcome,
  SubscriberRecord,
} from './core/registration-book';
import { pickLessLoaded, RoundRobin, SessionCandidate } from './core/server-selection';
import { discoverSessions } from './discovery';
import { GrpcTransport } from './grpc-transport';
import { Logger, silentLogger } from './logger';
import { RegistryClientOptions, ResolvedClientOptions, resolveClientOptions } from './options';
import {
  Configurator,
  ConfiguratorCallback,
  ConfiguratorHandle,
  Publisher,
  PublisherHandle,
  RegistrationHandle,
  RegistrationHost,
  Subscriber,
  SubscriberCallback,
  SubscriberHandle,
} from './registrations';
import { StatusEvent } from './status';
import { StatusStream } from './status-stream';
import { Transport, TransportConnection } from './transport';
import { CLIENT_VERSION } from './version';

/** What identifies a publication. Blank instanceId / group take SOFARegistry's defaults. */
export interface PublishRegistration {
  dataId: string;
  instanceId?: string;
  group?: string;
  /** Default: the client's appName. */
  appName?: string;
}

/** What identifies a subscription; `scope` picks which zones' publishers it sees. */
export interface SubscribeRegistration {
  dataId: string;
  scope: Scope;
  instanceId?: string;
  group?: string;
  appName?: string;
}

/** What a configurator watches. */
export interface WatchConfigRegistration {
  key: string;
}

/** Counters of one client, for tests and metrics. A snapshot: later changes do not show in it. */
export interface ClientStats {
  readonly connects: number;
  readonly disconnects: number;
  readonly dialFailures: number;
  readonly registrations: number;
  readonly offlineQueued: number;
  readonly inFlight: number;
  readonly messagesSent: number;
  readonly pushesReceived: number;
  readonly pushesDelivered: number;
  /** Per-subscriber deliveries skipped because the version was not newer than the one held. */
  readonly pushesDropped: number;
  /** Messages from replaced streams that the epoch guard ignored. */
  readonly staleMessagesIgnored: number;
  readonly callbackErrors: number;
  readonly registrationsRejected: number;
  readonly statusEventsDropped: number;
  /** Round-trip time of the last answered heartbeat, in ms. */
  readonly lastHeartbeatRttMs: number | undefined;
}

/** The session a client is connected to. */
export interface SessionInfo {
  readonly server: string;
  readonly connectId: string;
  readonly sessionAddress: string;
  readonly zone: string;
}

interface OpenConnection {
  readonly epoch: number;
  readonly server: string;
  readonly connection: TransportConnection;
  helloTimer: unknown;
  hello: ServerHello | undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The registry client: one long-lived stream to one session server, over which it registers publishers,
 * subscribers and configurators, keeps the connection alive, and receives pushes.
 *
 * Contracts:
 * - Registrations are validated before anything is sent (`RegistryError` `InvalidArgument`, naming the field
 *   and the rule), and are accepted while disconnected (queued, bounded by `offlineQueueSize`).
 * - On every (re)connection the client sends hello, then re-sends every registration it holds (publishers at
 *   their current version), then what was created offline, then anything else.
 * - A subscriber callback runs only for a datum version greater than the one it holds.
 * - Reconnects follow a jittered exponential backoff (see `ReconnectPolicy`), one dial at a time; events of a
 *   replaced stream are ignored (epoch guard).
 * - `close()` ends everything; `closed()` resolves with undefined after `close()`, or with the error that made
 *   the client give up (`maxAttempts`).
 */
export class RegistryClient {
  /** Stable for the life of this instance; sent in every hello. */
  readonly clientId: string;
  readonly processId: string;
  readonly clientIp: string;
  /** The validated settings. */
  readonly options: ResolvedClientOptions;

  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly newId: () => string;
  private readonly logger: Logger;
  private readonly transport: Transport;
  private readonly discover: (endpoint: string) => Promise<SessionCandidate[]>;
  private readonly machine: ConnectionMachineConfig;
  private readonly book: RegistrationBook;
  private readonly handles = new Map<string, RegistrationHandle>();
  private readonly statusStream: StatusStream<StatusEvent>;
  private readonly roundRobin: RoundRobin | undefined;
  private readonly host: RegistrationHost;

  private state: ConnectionState = INITIAL_CONNECTION_STATE;
  private readonly events: ConnectionEvent[] = [];
  private dispatching = false;
  private conn: OpenConnection | undefined;
  /** Once the session reads batches, what is sent within one event-loop turn goes out as one frame. */
  private readonly outbound = new TurnCoalescer<OpenConnection, ClientMessage>(
    setImmediate,
    (conn, messages) => {
      if (this.conn !== conn) return;
      conn.connection.send(messages.length === 1 ? messages[0] : { body: { $case: 'batch', value: { messages } } });
    },
    // A whole replay is one turn's work: frames stay far below what a session accepts (64 MiB).
    { maxItems: 256, maxBytes: 4 * 1024 * 1024, sizeOf: approxMessageBytes },
  );
  private retryTimer: unknown;
  private heartbeatTimer: unknown;
  private lastReceivedAt = 0;
  private lastFailedServer: string | undefined;
  private everConnected = false;
  private readonly resendTimers = new Map<string, { timer: unknown; attempt: number }>();
  private readonly unregisterWaiters = new Map<string, { resolve: () => void; reject: (e: RegistryError) => void }>();
  private readonly readyWaiters = new Set<{
    resolve: () => void;
    reject: (e: RegistryError) => void;
    timer: unknown;
  }>();
  private readonly counters: Mutable<ClientStats>;
  private closeReason: RegistryError | undefined;
  private resolveClosed!: (reason: RegistryError | undefined) => void;
  private readonly closedPromise: Promise<RegistryError | undefined>;

  /**
   * Validates the options and starts connecting (on the next microtask).
   * @throws RegistryError `InvalidArgument` for invalid options (naming the field).
   */
  constructor(options: RegistryClientOptions) {
    this.options = resolveClientOptions(options);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.newId = options.newId ?? randomUUID;
    this.logger = options.logger ?? silentLogger;
    this.clientId = options.clientId ?? randomUUID();
    this.clientIp = options.clientIp ?? localIp();
    this.processId = options.processId ?? `${this.clientIp}-${process.pid}-${this.clock.now()}`;
    this.transport =
      options.transport ??
      new GrpcTransport({
        keepaliveTimeMs: this.options.keepaliveTimeMs,
        keepaliveTimeoutMs: this.options.keepaliveTimeoutMs,
        channelOptions: this.options.channelOptions,
      });
    this.discover =
      options.discover ?? ((endpoint) => discoverSessions(endpoint, { timeoutMs: this.options.discoveryTimeoutMs }));
    const policy = this.options.reconnect;
    const custom = this.options.reconnectDelay;
    this.machine = {
      delayFor: (attempt) => {
        const ms = custom ? custom(attempt) : backoffDelay(policy, attempt, this.random);
        return Number.isFinite(ms) && ms > 0 ? ms : 0;
      },
      maxAttempts: policy.maxAttempts,
      stableConnectionMs: policy.stableConnectionMs,
    };
    this.book = new RegistrationBook(this.options.offlineQueueSize, this.options.zone);
    this.roundRobin =
      this.options.sessionServers.length > 0 ? new RoundRobin(this.options.sessionServers, this.random) : undefined;
    this.counters = {
      connects: 0,
      disconnects: 0,
      dialFailures: 0,
      registrations: 0,
      offlineQueued: 0,
      inFlight: 0,
      messagesSent: 0,
      pushesReceived: 0,
      pushesDelivered: 0,
      pushesDropped: 0,
      staleMessagesIgnored: 0,
      callbackErrors: 0,
      registrationsRejected: 0,
      statusEventsDropped: 0,
      lastHeartbeatRttMs: undefined,
    };
    this.statusStream = new StatusStream<StatusEvent>(this.options.statusBufferSize, (dropped) => {
      this.counters.statusEventsDropped = dropped;
      if (dropped === 1 || dropped % 1000 === 0)
        this.logger.warn('status iterator fell behind; oldest events dropped', { dropped });
    });
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    this.host = {
      clock: this.clock,
      republish: (handle, dataList) => this.republish(handle, dataList),
      unregister: (handle) => this.unregister(handle),
    };
    // Start on the next microtask, so that a `status()` iterator taken right after construction sees
    // the first `connecting` event.
    queueMicrotask(() => this.dispatch({ type: 'start' }));
  }

  // ---- registrations -------------------------------------------------------------------------------------

  /**
   * Publishes `dataList` under `registration`'s dataInfoId. Validated first; sent at once when connected,
   * else queued. Await `synced()` for the session's acknowledgement.
   * @throws RegistryError `InvalidArgument` (field and rule named), `Overloaded` (offline queue full), `Closed`.
   */
  publish(registration: PublishRegistration, ...dataList: string[]): Publisher {
    this.assertOpen();
    const appName = registration?.appName ?? this.options.appName;
    // Fields picked one by one: an object spread with more properties after it costs microseconds in V8.
    const input = {
      dataId: registration?.dataId,
      instanceId: registration?.instanceId,
      group: registration?.group,
      appName,
      dataList,
      version: 1,
    };
    throwIfInvalid(notARegistrationObject(registration) ?? validatePublish(input));
    const record: PublisherRecord = {
      kind: 'publisher',
      registerId: this.newId(),
      dataId: registration.dataId,
      instanceId: registration.instanceId || DEFAULT_INSTANCE_ID,
      group: registration.group || DEFAULT_GROUP,
      dataInfoId: toDataInfoId(registration.dataId, registration.instanceId, registration.group),
      appName,
      dataList: Object.freeze([...dataList]),
      version: 1,
      ackedVersion: 0,
      announced: false,
      acked: false,
    };
    const handle = new PublisherHandle(this.host, record);
    this.register(handle);
    return handle;
  }

  /**
   * Subscribes to `registration`'s dataInfoId. `callback` runs with every newer datum, the first one (possibly
   * empty) soon after the session accepts the subscription.
   * @throws RegistryError `InvalidArgument` (field and rule named), `Overloaded` (offline queue full), `Closed`.
   */
  subscribe(registration: SubscribeRegistration, callback: SubscriberCallback): Subscriber {
    this.assertOpen();
    const appName = registration?.appName ?? this.options.appName;
    const input = {
      dataId: registration?.dataId,
      scope: registration?.scope,
      instanceId: registration?.instanceId,
      group: registration?.group,
      appName,
    };
    throwIfInvalid(notARegistrationObject(registration) ?? validateSubscribe(input));
    if (typeof callback !== 'function') {
      throw new RegistryError({
        code: ErrorCode.InvalidArgument,
        field: 'callback',
        message: 'callback must be a function (rule: isFunction)',
      });
    }
    const record: SubscriberRecord = {
      kind: 'subscriber',
      registerId: this.newId(),
      dataId: registration.dataId,
      instanceId: registration.instanceId || DEFAULT_INSTANCE_ID,
      group: registration.group || DEFAULT_GROUP,
      dataInfoId: toDataInfoId(registration.dataId, registration.instanceId, registration.group),
      scope: registration.scope,
      appName,
      announced: false,
      acked: false,
      heldVersion: undefined,
      data: undefined,
    };
    const handle = new SubscriberHandle(this.host, record, callback);
    this.register(handle);
    return handle;
  }

  /**
   * Watches a provide-data key. `callback` runs with its value (undefined when absent) and every newer one.
   * @throws RegistryError `InvalidArgument`, `Overloaded`, `Closed`; see {@link publish}.
   */
  watchConfig(registration: WatchConfigRegistration, callback: ConfiguratorCallback): Configurator {
    this.assertOpen();
    throwIfInvalid(validateWatchConfig(registration));
    if (typeof callback !== 'function') {
      throw new RegistryError({
        code: ErrorCode.InvalidArgument,
        field: 'callback',
        message: 'callback must be a function (rule: isFunction)',
      });
    }
    const record: ConfiguratorRecord = {
      kind: 'configurator',
      registerId: this.newId(),
      key: registration.key,
      announced: false,
      acked: false,
      heldVersion: undefined,
      value: undefined,
      exists: false,
    };
    const handle = new ConfiguratorHandle(this.host, record, callback);
    this.register(handle);
    return handle;
  }

  // ---- connection ------------------------------------------------------------------------------------------

  /**
   * Connection status changes as an async iterator of typed events, from now on, ending after `closed`.
   * Each call returns an independent iterator; one that falls `statusBufferSize` events behind loses the
   * oldest. Break out of the loop (or call `return()`) to stop listening.
   */
  status(): AsyncIterableIterator<StatusEvent> {
    return this.statusStream.iterator();
  }

  /** The current phase: `idle`, `connecting`, `connected`, `reconnecting` or `closed`. */
  get phase(): ConnectionPhase {
    return this.state.phase;
  }

  /** The session this client is connected to, or undefined when not connected. */
  get session(): SessionInfo | undefined {
    const conn = this.conn;
    if (this.state.phase !== 'connected' || !conn?.hello) return undefined;
    const { connectId, sessionAddress, zone } = conn.hello;
    return { server: conn.server, connectId, sessionAddress, zone };
  }

  /**
   * Resolves when the client is connected (at once if it is). Rejects with `Closed` if the client closes
   * first, or with `Unavailable` after `timeoutMs`.
   */
  ready(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.state.phase === 'connected') return Promise.resolve();
    if (this.state.phase === 'closed') return Promise.reject(this.closedError());
    return new Promise<void>((resolve, reject) => {
      const waiter = { resolve, reject, timer: undefined as unknown };
      if (options.timeoutMs !== undefined) {
        waiter.timer = this.clock.setTimeout(() => {
          this.readyWaiters.delete(waiter);
          reject(
            new RegistryError({
              code: ErrorCode.Unavailable,
              message: `not connected to a session within ${options.timeoutMs} ms`,
            }),
          );
        }, options.timeoutMs);
      }
      this.readyWaiters.add(waiter);
    });
  }

  /**
   * Closes the connection (the session then drops this client's publishers and subscribers) and stops
   * reconnecting. Pending `synced()` calls reject with `Closed`. Idempotent.
   */
  async close(): Promise<void> {
    this.dispatch({ type: 'close' });
    await this.closedPromise;
  }

  /** Resolves once the client is closed: with undefined after `close()`, else with the error that closed it. */
  closed(): Promise<RegistryError | undefined> {
    return this.closedPromise;
  }

  /** A snapshot of the client's counters. */
  stats(): ClientStats {
    return {
      ...this.counters,
      registrations: this.book.size,
      offlineQueued: this.book.queued,
      inFlight: this.book.inFlight,
    };
  }

  // ---- registration plumbing -----------------------------------------------------------------------------

  private register(handle: PublisherHandle | SubscriberHandle | ConfiguratorHandle): void {
    const added = this.book.add(handle.record);
    if (!added.ok) {
      if (added.error.code === ErrorCode.Overloaded)
        this.logger.warn('offline queue full', { queued: this.book.queued });
      throw new RegistryError(added.error);
    }
    this.handles.set(handle.registerId, handle);
    this.send(added.messages);
  }

  private republish(handle: PublisherHandle, dataList: string[]): void {
    this.assertOpen();
    const record = handle.record;
    const input = {
      dataId: record.dataId,
      instanceId: record.instanceId,
      group: record.group,
      appName: record.appName,
      dataList,
      version: record.version + 1,
    };
    throwIfInvalid(validatePublish(input));
    this.clearResend(record.registerId);
    this.send(this.book.republish(record.registerId, Object.freeze([...dataList])));
  }

  private unregister(handle: RegistrationHandle): Promise<void> {
    const registerId = handle.registerId;
    this.clearResend(registerId);
    handle.fail(new RegistryError({ code: ErrorCode.Closed, message: `registration ${registerId} was unregistered` }));
    this.handles.delete(registerId);
    if (this.state.phase === 'closed') return Promise.resolve();
    const { messages, local } = this.book.remove(registerId);
    if (local) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.unregisterWaiters.set(registerId, { resolve, reject });
      this.send(messages);
    });
  }

  private send(messages: readonly ClientMessage[]): void {
    const conn = this.conn;
    if (messages.length === 0 || !conn) return;
    const batched = conn.hello?.acceptsBatches === true;
    for (const m of messages) {
      if (batched) this.outbound.add(conn, m);
      else conn.connection.send(m);
      this.counters.messagesSent++;
    }
  }

  private assertOpen(): void {
    if (this.state.phase === 'closed') throw this.closedError();
  }

  private closedError(): RegistryError {
    return new RegistryError({
      code: ErrorCode.Closed,
      message: 'the registry client is closed' + (this.closeReason ? `: ${this.closeReason.message}` : ''),
    });
  }

  // ---- the state machine and its effects -------------------------------------------------------------------

  private dispatch(event: ConnectionEvent): void {
    this.events.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let e = this.events.shift(); e; e = this.events.shift()) {
        const result = step(this.machine, this.state, e);
        if (result.ignored) {
          this.logger.debug('connection event ignored', {
            event: e.type,
            phase: this.state.phase,
            epoch: this.state.epoch,
          });
          continue;
        }
        this.state = result.state;
        if (e.type === 'dialFailed') this.counters.dialFailures++;
        for (const effect of result.effects) this.run(effect);
      }
    } finally {
      this.dispatching = false;
    }
  }

  private run(effect: ConnectionEffect): void {
    switch (effect.type) {
      case 'dial':
        void this.dial(effect.epoch, effect.attempt);
        return;
      case 'teardown':
        this.teardown(effect.epoch);
        return;
      case 'established':
        this.established();
        return;
      case 'lost':
        this.lost();
        return;
      case 'armRetryTimer':
        this.clock.clearTimeout(this.retryTimer);
        this.retryTimer = this.clock.setTimeout(() => {
          this.retryTimer = undefined;
          this.dispatch({ type: 'retryTimerFired' });
        }, effect.delayMs);
        return;
      case 'cancelRetryTimer':
        this.clock.clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        return;
      case 'status':
        this.emitStatus(effect.event);
        return;
      case 'finish':
        this.finish(effect.reason);
        return;
    }
  }

  private async dial(epoch: number, attempt: number): Promise<void> {
    let server: string;
    try {
      server = await this.pickServer();
    } catch (e) {
      this.dispatch({ type: 'dialFailed', epoch, error: errorValue(e, ErrorCode.Unavailable), now: this.clock.now() });
      return;
    }
    if (this.state.phase !== 'connecting' || this.state.epoch !== epoch) return;
    this.logger.debug('dialing session', { server, attempt, epoch });
    let connection: TransportConnection;
    try {
      connection = this.transport.open(server, {
        onMessage: (m) => this.onMessage(epoch, m),
        onClose: (err) => this.onTransportClosed(epoch, server, err),
      });
    } catch (e) {
      this.lastFailedServer = server;
      this.dispatch({ type: 'dialFailed', epoch, error: errorValue(e, ErrorCode.Unavailable), now: this.clock.now() });
      return;
    }
    if (this.state.phase !== 'connecting' || this.state.epoch !== epoch) {
      connection.close(); // closed or failed while opening
      return;
    }
    const conn: OpenConnection = { epoch, server, connection, helloTimer: undefined, hello: undefined };
    this.conn = conn;
    conn.helloTimer = this.clock.setTimeout(() => {
      if (this.conn !== conn) return;
      this.lastFailedServer = server;
      this.dispatch({
        type: 'dialFailed',
        epoch,
        error: {
          code: ErrorCode.Unavailable,
          message: `no hello from session ${server} within ${this.options.connectTimeoutMs} ms`,
        },
        now: this.clock.now(),
      });
    }, this.options.connectTimeoutMs);
    connection.send({
      body: {
        $case: 'hello',
        value: {
          clientId: this.clientId,
          processId: this.processId,
          appName: this.options.appName,
          zone: this.options.zone,
          dataCenter: this.options.dataCenter,
          clientIp: this.clientIp,
          clientVersion: CLIENT_VERSION,
          acceptsBatches: true,
        },
      },
    });
    this.counters.messagesSent++;
  }

  private async pickServer(): Promise<string> {
    const endpoint = this.options.registryEndpoint;
    if (endpoint !== undefined) {
      try {
        const candidates = await this.discover(endpoint);
        const picked = pickLessLoaded(candidates, this.random, this.lastFailedServer);
        if (picked) return picked.address;
        throw new RegistryError({ code: ErrorCode.Unavailable, message: `${endpoint} listed no session server` });
      } catch (e) {
        if (!this.roundRobin) throw e;
        this.logger.warn('session discovery failed; using sessionServers', {
          endpoint,
          error: errorValue(e, ErrorCode.Unavailable),
        });
      }
    }
    return (this.roundRobin as RoundRobin).next();
  }

  private onMessage(epoch: number, message: ServerMessage): void {
    const conn = this.conn;
    if (!conn || conn.epoch !== epoch) {
      this.counters.staleMessagesIgnored++;
      return;
    }
    this.lastReceivedAt = this.clock.now();
    const body = message.body;
    if (!body) return;
    if (body.$case === 'batch') {
      // Each message may change the connection (a result that closes the client): stop once it is not ours.
      for (const m of body.value.messages)
        if (m.body?.$case !== 'batch' && this.conn === conn) this.onMessage(epoch, m);
      return;
    }
    if (this.state.phase === 'connecting') {
      if (body.$case !== 'hello') {
        this.logger.error('session spoke before its hello', { server: conn.server, message: body.$case });
        this.lastFailedServer = conn.server;
        this.dispatch({
          type: 'dialFailed',
          epoch,
          error: {
            code: ErrorCode.Internal,
            message: `protocol error: session ${conn.server} sent ${body.$case} before hello`,
          },
          now: this.lastReceivedAt,
        });
        return;
      }
      this.clock.clearTimeout(conn.helloTimer);
      conn.hello = body.value;
      this.dispatch({ type: 'dialSucceeded', epoch, server: conn.server, now: this.lastReceivedAt });
      return;
    }
    switch (body.$case) {
      case 'result':
        this.onResult(this.book.onResult(body.value));
        return;
      case 'push':
        this.onPush(body.value);
        return;
      case 'config':
        this.onConfig(body.value);
        return;
      case 'heartbeat':
        this.counters.lastHeartbeatRttMs = Math.max(0, this.lastReceivedAt - body.value.sentAt);
        return;
      case 'hello':
        this.logger.warn('duplicate hello from session ignored', { server: conn.server });
        return;
    }
  }

  private onTransportClosed(epoch: number, server: string, error: Error | undefined): void {
    if (this.conn && this.conn.epoch !== epoch) {
      this.counters.staleMessagesIgnored++;
      return;
    }
    const value: ErrorValue = error
      ? errorValue(error, ErrorCode.Unavailable)
      : { code: ErrorCode.Unavailable, message: `session ${server} ended the stream` };
    if (this.state.phase === 'connecting') {
      this.lastFailedServer = server;
      this.dispatch({ type: 'dialFailed', epoch, error: value, now: this.clock.now() });
    } else {
      this.dispatch({ type: 'streamEnded', epoch, error: value, now: this.clock.now() });
    }
  }

  private teardown(epoch: number): void {
    const conn = this.conn;
    if (!conn || conn.epoch !== epoch) return;
    this.conn = undefined;
    this.outbound.drop(conn);
    this.clock.clearTimeout(conn.helloTimer);
    this.clock.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    conn.connection.close();
  }

  private established(): void {
    const conn = this.conn;
    if (!conn) return;
    this.counters.connects++;
    this.lastFailedServer = undefined;
    // Replay every registration held, then what was created offline: before anything else on this stream.
    this.send(this.book.onConnected());
    this.scheduleHeartbeat(conn.epoch);
    for (const w of this.readyWaiters) {
      this.clock.clearTimeout(w.timer);
      w.resolve();
    }
    this.readyWaiters.clear();
  }

  private lost(): void {
    this.counters.disconnects++;
    for (const registerId of this.book.onDisconnected()) {
      const w = this.unregisterWaiters.get(registerId);
      this.unregisterWaiters.delete(registerId);
      w?.resolve(); // the session drops everything of a closed connection
    }
    for (const registerId of [...this.resendTimers.keys()]) this.clearResend(registerId);
  }

  private scheduleHeartbeat(epoch: number): void {
    this.heartbeatTimer = this.clock.setTimeout(() => {
      if (this.state.phase !== 'connected' || this.state.epoch !== epoch) return;
      const now = this.clock.now();
      const silentFor = now - this.lastReceivedAt;
      if (silentFor >= this.options.heartbeatTimeoutMs) {
        this.logger.warn('session silent; dropping the connection', {
          server: this.conn?.server,
          silentForMs: silentFor,
        });
        this.dispatch({
          type: 'streamEnded',
          epoch,
          error: {
            code: ErrorCode.Unavailable,
            message: `no message from the session for ${silentFor} ms (heartbeatTimeoutMs ${this.options.heartbeatTimeoutMs})`,
          },
          now,
        });
        return;
      }
      this.send([{ body: { $case: 'heartbeat', value: { sentAt: now } } }]);
      this.scheduleHeartbeat(epoch);
    }, this.options.heartbeatIntervalMs);
  }

  private emitStatus(event: MachineStatus): void {
    let out: StatusEvent;
    switch (event.type) {
      case 'connected': {
        const hello = this.conn?.hello;
        out = {
          type: 'connected',
          server: event.server,
          attempt: event.attempt,
          connectId: hello?.connectId ?? '',
          sessionAddress: hello?.sessionAddress ?? '',
          zone: hello?.zone ?? '',
          reconnected: this.everConnected,
        };
        this.everConnected = true;
        this.logger.info('connected to session', {
          server: out.server,
          connectId: out.connectId,
          reconnected: out.reconnected,
        });
        break;
      }
      case 'disconnected':
        out = event.error
          ? { type: 'disconnected', server: event.server, error: event.error }
          : { type: 'disconnected', server: event.server };
        this.logger.warn('disconnected from session', { server: event.server, error: event.error });
        break;
      case 'reconnecting':
        out = event.error
          ? { type: 'reconnecting', attempt: event.attempt, delayMs: event.delayMs, error: event.error }
          : { type: 'reconnecting', attempt: event.attempt, delayMs: event.delayMs };
        this.logger.info('reconnecting', { attempt: event.attempt, delayMs: event.delayMs, error: event.error });
        break;
      case 'connecting':
        out = { type: 'connecting', attempt: event.attempt };
        this.logger.debug('connecting', { attempt: event.attempt });
        break;
      case 'closed':
        out = event.reason ? { type: 'closed', reason: event.reason } : { type: 'closed' };
        this.logger.info('registry client closed', { reason: event.reason });
        break;
    }
    this.statusStream.publish(Object.freeze(out));
  }

  private finish(reason: ErrorValue | undefined): void {
    this.closeReason = reason ? new RegistryError(reason) : undefined;
    this.clock.clearTimeout(this.retryTimer);
    this.clock.clearTimeout(this.heartbeatTimer);
    for (const registerId of [...this.resendTimers.keys()]) this.clearResend(registerId);
    const closedError = this.closedError();
    for (const handle of this.handles.values()) handle.fail(closedError);
    this.handles.clear();
    for (const w of this.unregisterWaiters.values()) w.resolve();
    this.unregisterWaiters.clear();
    for (const w of this.readyWaiters) {
      this.clock.clearTimeout(w.timer);
      w.reject(closedError);
    }
    this.readyWaiters.clear();
    this.statusStream.end();
    this.resolveClosed(this.closeReason);
  }

  // ---- what the session says -------------------------------------------------------------------------------

  private onResult(outcome: ResultOutcome): void {
    switch (outcome.type) {
      case 'ignored':
        return;
      case 'registered': {
        const record = outcome.record;
        // An answer to an older version must not cancel the pending resend of a newer one.
        if (record.kind !== 'publisher' || record.ackedVersion >= record.version) this.clearResend(record.registerId);
        this.handles.get(record.registerId)?.settle();
        return;
      }
      case 'rejected': {
        const { record, error } = outcome;
        this.counters.registrationsRejected++;
        this.logger.warn('session refused a registration', { registerId: record.registerId, kind: record.kind, error });
        this.handles.get(record.registerId)?.fail(new RegistryError(error));
        this.handles.delete(record.registerId);
        return;
      }
      case 'retry': {
        const { record, error } = outcome;
        const previous = this.resendTimers.get(record.registerId);
        this.clock.clearTimeout(previous?.timer);
        const attempt = (previous?.attempt ?? 0) + 1;
        const delayMs = this.machine.delayFor(attempt);
        this.logger.warn('session could not take a registration now; retrying', {
          registerId: record.registerId,
          error,
          attempt,
          delayMs,
        });
        const timer = this.clock.setTimeout(() => {
          const entry = this.resendTimers.get(record.registerId);
          if (!entry || entry.timer !== timer) return;
          entry.timer = undefined;
          this.send(this.book.resend(record.registerId));
        }, delayMs);
        this.resendTimers.set(record.registerId, { timer, attempt });
        return;
      }
      case 'unregistered': {
        const w = this.unregisterWaiters.get(outcome.registerId);
        this.unregisterWaiters.delete(outcome.registerId);
        w?.resolve();
        return;
      }
      case 'unregisterFailed': {
        this.logger.warn('session refused an unregister', { registerId: outcome.registerId, error: outcome.error });
        const w = this.unregisterWaiters.get(outcome.registerId);
        this.unregisterWaiters.delete(outcome.registerId);
        w?.reject(new RegistryError(outcome.error));
        return;
      }
    }
  }

  private clearResend(registerId: string): void {
    const entry = this.resendTimers.get(registerId);
    if (!entry) return;
    this.clock.clearTimeout(entry.timer);
    this.resendTimers.delete(registerId);
  }

  private onPush(push: DataPush): void {
    this.counters.pushesReceived++;
    const outcome = this.book.onPush(push);
    this.counters.pushesDropped += outcome.dropped;
    for (const record of outcome.deliveries) {
      const handle = this.handles.get(record.registerId);
      if (!(handle instanceof SubscriberHandle) || !record.data) continue;
      this.counters.pushesDelivered++;
      this.invoke('subscriber', record.registerId, () =>
        handle.callback(record.dataId, record.data as NonNullable<typeof record.data>),
      );
    }
    this.send([{ body: { $case: 'pushAck', value: { pushId: push.pushId } } }]);
  }

  private onConfig(config: ConfigPush): void {
    const outcome = this.book.onConfig(config);
    for (const record of outcome.deliveries) {
      const handle = this.handles.get(record.registerId);
      if (!(handle instanceof ConfiguratorHandle)) continue;
      this.invoke('configurator', record.registerId, () =>
        handle.callback(record.key, record.value, record.heldVersion ?? 0),
      );
    }
  }

  /** Runs an application callback; what it throws (or rejects with) is logged and counted, never propagated. */
  private invoke(kind: string, registerId: string, fn: () => unknown): void {
    const fail = (e: unknown) => {
      this.counters.callbackErrors++;
      this.logger.error(`${kind} callback threw`, { registerId, error: e instanceof Error ? e : String(e) });
    };
    try {
      const r = fn();
      if (r && typeof (r as PromiseLike<unknown>).then === 'function')
        (r as PromiseLike<unknown>).then(undefined, fail);
    } catch (e) {
      fail(e);
    }
  }
}

function throwIfInvalid(error: ErrorValue | undefined): void {
  if (error) throw new RegistryError(error);
}

function errorValue(e: unknown, fallback: ErrorCode): ErrorValue {
  if (e instanceof RegistryError)
    return e.field ? { code: e.code, message: e.message, field: e.field } : { code: e.code, message: e.message };
  return { code: fallback, message: e instanceof Error ? e.message : String(e) };
}

function localIp(): string {
  try {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  } catch {
    // fall through: no interfaces readable
  }
  return '127.0.0.1';
}

/** A cheap upper bound of a client message's encoded size: its addresses plus room for the other fields. */
function approxMessageBytes(m: ClientMessage): number {
  if (m.body?.$case !== 'publish') return 512;
  let n = 512;
  for (const d of m.body.value.dataList) n += d.length * 3 + 2;
  return n;
}
