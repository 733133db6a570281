import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  ClientMessage,
  ErrorInfo,
  NodeInfo,
  ProvideData,
  PublishRequest,
  Publisher,
  RegisterResult,
  ServerMessage,
  SessionServiceService,
  SlotTable,
  SubscribeRequest,
  WatchConfigRequest,
} from '@sofareg/contracts';
import { ErrorCode, ErrorValue, PROVIDE_DATA_KEYS, Scope, TurnCoalescer, toDataInfoId, validatePublish, validateSubscribe } from '@sofareg/model';
import { CONFIG, GrpcServerHandle, LOGGER, Logger, METRICS, MetaClient, Metrics, Readiness, callUnary, grpc, startGrpcServer } from '@sofareg/server-kit';
import { randomUUID } from 'node:crypto';
import { ClientConnection, Outbound, effectiveClientIp } from './client-connection';
import { ConfigWatchers } from './core/config-watchers';
import { SessionRegistry } from './core/session-registry';
import { DEFAULT_SWITCHES, SwitchState, admitPublish, admitSubscribe, applySwitch, switchTransition } from './core/switches';
import { TokenBucket } from './core/token-bucket';
import { DataRouter } from './data-router';
import { PushPipeline } from './push-pipeline';
import { SessionSyncServer } from './sync/session-sync.server';
import { SessionConfig } from './session-config';

/**
 * A session server: accepts client streams, holds the authoritative copy of its clients' publishers and
 * forwards them to the slot leaders, keeps subscribers, learns of datum changes from every data server,
 * fetches each changed datum once and pushes it to the subscribers that have not seen its version.
 */
@Injectable()
export class SessionService implements OnApplicationBootstrap, OnApplicationShutdown, Readiness {
  readonly registry = new SessionRegistry();
  readonly processId = randomUUID();
  readonly connections = new Map<string, ClientConnection>();
  /** Configurators (watches of provide-data keys). */
  readonly configWatchers = new ConfigWatchers();
  private switchState: SwitchState = DEFAULT_SWITCHES;
  /** What is sent to each batch-reading client within one event-loop turn goes out as one frame. */
  private readonly outbound = new TurnCoalescer<ClientConnection, Outbound>(
    setImmediate,
    (conn, queued) => {
      this.m.framedMessages.observe(queued.length);
      conn.write(queued);
    },
    // Pushes of large datums in one turn leave as several frames, each far below the client's 32 MiB limit.
    { maxItems: 256, maxBytes: 4 * 1024 * 1024, sizeOf: (q) => q.bytes },
  );
  private readonly admission: TokenBucket;
  private grpcServer: GrpcServerHandle | undefined;
  private syncServer: SessionSyncServer | undefined;
  private meta!: MetaClient;
  private router!: DataRouter;
  private pipeline!: PushPipeline;
  private stopping = false;
  private readonly m;

  constructor(
    @Inject(CONFIG) private readonly config: SessionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) private readonly metrics: Metrics,
  ) {
    const registrations = metrics.counter('session_registrations_total', 'registration requests', ['kind', 'result']);
    this.m = {
      registrations,
      // The hot path's label set, resolved once.
      publishedOk: registrations.labels({ kind: 'publish', result: 'ok' }),
      overflow: metrics.counter('session_connection_overflow_total', 'clients disconnected because they read too slowly'),
      refusedConnections: metrics.counter('session_refused_connections_total', 'connections refused over --max-connections'),
      writeLatency: metrics.histogram('session_write_seconds', 'publish received to acknowledged by data'),

      writeBatch: metrics.sizeHistogram('session_data_write_batch_ops', 'ops per Write batch sent to a data server'),
      framedMessages: metrics.sizeHistogram('session_client_frame_messages', 'messages per frame sent to a batch-reading client'),
      receivedFrames: metrics.sizeHistogram('session_client_received_frame_messages', 'messages per frame received from a client'),
      throttled: metrics.counter('session_throttled_connections_total', 'connections refused by admission throttling (over --max-connects-per-second)'),
      switched: metrics.counter('session_switch_actions_total', 'registrations and connections acted on by switches', ['action']),
      configPushes: metrics.counter('session_config_pushes_total', 'provide-data values pushed to configurators'),
    };
    this.admission = new TokenBucket(config.maxConnectsPerSecond, config.maxConnectsPerSecond);
    const registry = this.registry;
    const connections = this.connections;
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
    return (this.address ??= `${this.config.advertiseHost}:${this.config.port}`);
  }
  private address: string | undefined;

  get slotTable(): SlotTable | undefined {
    return this.meta?.slotTable;
  }

  get zone(): string {
    return this.config.zone;
  }

  get sessionNodes(): readonly NodeInfo[] {
    return this.meta?.sessionNodes ?? [];
  }

  /** The switches in force, from meta's provide-data. */
  get switches(): SwitchState {
    return this.switchState;
  }

  /** Pushes awaiting acknowledgement. */
  get pendingPushes(): number {
    return this.pipeline?.pendingPushes ?? 0;
  }

  isReady(): boolean {
    return !this.stopping && this.meta?.slotTable !== undefined && this.grpcServer !== undefined;
  }

  detail(): Record<string, unknown> {
    return { epoch: this.meta?.slotTable?.epoch ?? 0, connections: this.connections.size };
  }

  async onApplicationBootstrap(): Promise<void> {
    const node: NodeInfo = {
      address: this.selfAddress,
      role: 'session',
      zone: this.config.zone,
      dataCenter: this.config.dataCenter,
      processId: this.processId,
      startedAt: Date.now(),
      httpAddress: `${this.config.advertiseHost}:${this.config.httpPort}`,
      syncAddress: `${this.config.advertiseHost}:${this.config.syncPort}`,
    };
    this.meta = new MetaClient({ metaAddresses: this.config.meta, node, logger: this.logger });
    this.router = new DataRouter({
      sessionAddress: this.selfAddress,
      sessionProcessId: this.processId,
      dataCenter: this.config.dataCenter,
      maxBatch: 1_000,
      maxInFlight: 2,
      retryForMs: this.config.writeRetryMs,
      maxPending: this.config.maxPendingWrites,
      logger: this.logger,
      slotTable: () => this.meta.slotTable,
      onBatch: (ops) => this.m.writeBatch.observe(ops),
    });
    this.pipeline = new PushPipeline({
      registry: this.registry,
      connections: this.connections,
      router: this.router,
      sessionAddress: this.selfAddress,
      sessionProcessId: this.processId,
      zone: this.config.zone,
      logger: this.logger,
      metrics: this.metrics,
      slotTable: () => this.meta.slotTable,
      switches: () => this.switchState,
      options: {
        retry: {
          ackTimeoutMs: this.config.pushAckTimeoutMs,
          initialBackoffMs: this.config.pushRetryInitialMs,
          maxBackoffMs: this.config.pushRetryMaxMs,
          breakerFailures: this.config.pushBreakerFailures,
          breakerOpenMs: this.config.pushBreakerOpenMs,
        },
        window: { maxDelayMs: this.config.pushMergeMaxMs, stepMs: Math.min(5, this.config.pushMergeMaxMs), quietMs: Math.max(this.config.pushMergeMaxMs / 2, 1) },
        scanIntervalMs: this.config.pushScanIntervalMs,
      },
    });
    this.meta.on('slotTable', (t) => {
      this.router.onSlotTable();
      this.pipeline.onSlotTable(t);
    });
    this.meta.on('provideData', (pd) => this.onProvideData(pd));
    this.pipeline.start();
    this.meta.start();
    // Data servers rebuild slots from what this session holds (port 9602).
    this.syncServer = new SessionSyncServer(
      {
        processId: this.processId,
        publishers: () => this.registry.allPublishers(),
        subscribed: () => this.registry.subscribedDataInfoIds(),
        hintLeader: (slot, epoch, leader) => this.router.hintLeader(slot, epoch, leader),
        // What a client may hold: a failed push sets a subscriber's pushedVersion back, never this.
        pushedVersion: (id) => this.pipeline.sentVersion(id),
      },
      this.logger,
    );
    await this.syncServer.start(this.config.host, this.config.syncPort);
    this.grpcServer = await startGrpcServer(this.config.host, this.config.port, [
      { definition: SessionServiceService, implementation: { connect: (call: grpc.ServerDuplexStream<ClientMessage, ServerMessage>) => this.accept(call) } },
    ]);
    this.logger.info({ grpc: this.selfAddress, http: `${this.config.advertiseHost}:${this.config.httpPort}`, processId: this.processId }, 'session listening');
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal, connections: this.connections.size }, 'session shutting down');
    this.stopping = true;
    for (const c of this.connections.values()) c.close();
    await this.grpcServer?.shutdown();
    await this.syncServer?.stop();
    this.pipeline?.stop();
    await this.meta?.stop();
    this.router?.close();
  }

  // ---- client connections ----

  private accept(call: grpc.ServerDuplexStream<ClientMessage, ServerMessage>): void {
    if (this.stopping || this.connections.size >= this.config.maxConnections) {
      this.m.refusedConnections.inc();
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: this.stopping ? 'session is shutting down' : 'session is at its connection limit; try another' });
      return;
    }
    if (!this.admission.tryTake(Date.now())) {
      this.m.throttled.inc();
      call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: `session admits at most ${this.config.maxConnectsPerSecond} new connections a second; retry with backoff` });
      return;
    }
    const peer = call.getPeer();
    const clientIp = peerIp(peer);
    const bounds = { maxBufferedBytes: this.config.maxConnectionBufferBytes, maxQueuedMessages: this.config.maxConnectionQueue };
    const conn = new ClientConnection(
      randomUUID(),
      peer,
      clientIp,
      call,
      bounds,
      (c, why) => {
        this.m.overflow.inc();
        this.logger.warn({ connectId: c.connectId, peer: c.peer, queued: why }, 'client reads too slowly; disconnecting it');
      },
      this.outbound,
    );
    this.connections.set(conn.connectId, conn);
    call.on('data', (msg: ClientMessage) => this.onFrame(conn, msg));
    const closed = () => this.onClosed(conn);
    call.on('end', () => {
      call.end();
      closed();
    });
    call.on('cancelled', closed);
    call.on('error', closed);
    call.on('close', closed);
  }

  private onClosed(conn: ClientConnection): void {
    if (!this.connections.delete(conn.connectId)) return;
    conn.closed = true;
    const { publishers, subscribers } = this.registry.removeConnection(conn.connectId);
    this.configWatchers.removeConnection(conn.connectId);
    this.pipeline.onConnectionClosed(conn.connectId);
    this.logger.info({ connectId: conn.connectId, peer: conn.peer, app: conn.hello?.appName, publishers: publishers.length, subscribers: subscribers.length }, 'client connection closed');
    if (publishers.length > 0 && !this.stopping) void this.clientOff([conn.connectId]);
  }

  /** Removes the publishers of closed connections at every slot leader, retrying until each has answered. */
  private async clientOff(connectIds: string[], attempt = 0): Promise<void> {
    const leaders = this.router.leaders();
    const failed: string[] = [];
    await Promise.all(
      leaders.map(async (leader) => {
        const client = this.router.pool.get(leader);
        try {
          await callUnary(client, client.clientOff, { sessionAddress: this.selfAddress, slotTableEpoch: this.meta.slotTable?.epoch ?? 0, connectIds });
        } catch {
          failed.push(leader);
        }
      }),
    );
    if ((failed.length === 0 && leaders.length > 0) || this.stopping) return;
    if (attempt < 20) setTimeout(() => void this.clientOff(connectIds, attempt + 1), Math.min(2_000, 100 * 2 ** attempt));
    else this.logger.error({ connections: connectIds.length, leaders: failed }, 'client-off not confirmed by every data leader after 20 attempts; digest repair removes the rest');
  }

  private onFrame(conn: ClientConnection, msg: ClientMessage): void {
    if (msg.body?.$case !== 'batch') {
      this.m.receivedFrames.observe(1);
      return this.onMessage(conn, msg);
    }
    const messages = msg.body.value.messages;
    this.m.receivedFrames.observe(messages.length);
    for (const m of messages) {
      if (conn.closed) return;
      if (m.body?.$case === 'batch') {
        conn.send({ body: { $case: 'result', value: result(0, '', false, 0, { code: ErrorCode.InvalidArgument, message: 'a batch cannot hold a batch', field: 'batch' }) } });
        continue;
      }
      this.onMessage(conn, m);
    }
  }

  private onMessage(conn: ClientConnection, msg: ClientMessage): void {
    const body = msg.body;
    if (!body) return;
    if (body.$case !== 'hello' && !conn.hello) {
      conn.send({ body: { $case: 'result', value: result(0, '', false, 0, { code: ErrorCode.InvalidArgument, message: 'the first message on a connection must be hello', field: 'hello' }) } });
      return;
    }
    switch (body.$case) {
      case 'hello':
        conn.hello = body.value;
        conn.clientIp = effectiveClientIp(conn.clientIp, body.value.clientIp);
        conn.send({ body: { $case: 'hello', value: { connectId: conn.connectId, sessionAddress: this.selfAddress, zone: this.config.zone, serverTime: Date.now(), acceptsBatches: true } } });
        this.logger.debug({ connectId: conn.connectId, app: body.value.appName, peer: conn.peer }, 'client connected');
        return;
      case 'heartbeat':
        conn.send({ body: { $case: 'heartbeat', value: { sentAt: body.value.sentAt, serverTime: Date.now() } } });
        return;
      case 'publish':
        void this.onPublish(conn, body.value);
        return;
      case 'unpublish':
        void this.onUnpublish(conn, body.value.requestId, body.value.registerId, body.value.version);
        return;
      case 'subscribe':
        this.onSubscribe(conn, body.value);
        return;
      case 'unsubscribe': {
        this.registry.removeSubscriber(body.value.registerId, conn.connectId);
        conn.send({ body: { $case: 'result', value: result(body.value.requestId, body.value.registerId, true, 0) } });
        return;
      }
      case 'pushAck':
        this.pipeline.onPushAck(body.value.pushId, conn.connectId);
        return;
      case 'watchConfig':
        this.onWatchConfig(conn, body.value);
        return;
      case 'unwatchConfig':
        this.configWatchers.remove(body.value.registerId, conn.connectId);
        conn.send({ body: { $case: 'result', value: result(body.value.requestId, body.value.registerId, true, 0) } });
        return;
    }
  }

  private async onPublish(conn: ClientConnection, req: PublishRequest): Promise<void> {
    const started = process.hrtime.bigint();
    const invalid = validatePublish(req) ?? (req.registerId ? undefined : { code: ErrorCode.InvalidArgument, message: 'registerId is required', field: 'registerId' });
    if (invalid) {
      this.m.registrations.inc({ kind: 'publish', result: 'invalid' });
      conn.send({ body: { $case: 'result', value: result(req.requestId, req.registerId, false, req.version, invalid) } });
      return;
    }
    const hello = conn.hello;
    if (!hello) return; // onMessage answers connections that skipped hello
    const admission = admitPublish(this.switchState, conn.clientIp);
    if (admission !== 'accept') {
      // Client-off: acknowledged but not kept, so the client re-registers it when its IP is opened again.
      this.m.switched.inc({ action: admission === 'refuse' ? 'publishRefused' : 'publishIgnored' });
      this.m.registrations.inc({ kind: 'publish', result: admission === 'refuse' ? ErrorCode.Blocked : 'ignored' });
      const blocked = admission === 'refuse' ? { code: ErrorCode.Blocked, message: `publishes from ${conn.clientIp} are blacklisted (${PROVIDE_DATA_KEYS.publishBlacklist})`, field: '' } : undefined;
      conn.send({ body: { $case: 'result', value: result(req.requestId, req.registerId, admission === 'ignore', req.version, blocked) } });
      return;
    }
    const p: Publisher = {
      dataInfoId: toDataInfoId(req.dataId, req.instanceId, req.group),
      registerId: req.registerId,
      dataList: req.dataList,
      zone: this.config.zone,
      appName: req.appName || hello.appName,
      clientId: hello.clientId,
      processId: hello.processId,
      connectId: conn.connectId,
      sessionProcessId: this.processId,
      sessionAddress: this.selfAddress,
      version: req.version,
      registerTimestamp: Date.now(),
      clientIp: conn.clientIp,
    };
    const prev = this.registry.getPublisher(p.registerId);
    if (prev && (prev.version > p.version || prev.dataInfoId !== p.dataInfoId)) {
      const stale = prev.dataInfoId !== p.dataInfoId ? 'a registerId cannot move to another dataInfoId' : `version ${p.version} is older than ${prev.version}`;
      conn.send({ body: { $case: 'result', value: result(req.requestId, req.registerId, false, req.version, { code: ErrorCode.InvalidArgument, message: stale, field: 'version' }) } });
      return;
    }
    this.registry.putPublisher(p);
    const r = await this.router.write({ op: { $case: 'publish', value: p } }, p.dataInfoId);
    if (r.ok) this.m.publishedOk.inc();
    else this.m.registrations.inc({ kind: 'publish', result: r.error?.code ?? 'error' });
    this.m.writeLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (!r.ok) this.logger.warn({ registerId: p.registerId, dataInfoId: p.dataInfoId, error: r.error }, 'publish not acknowledged by data');
    conn.send({ body: { $case: 'result', value: result(req.requestId, req.registerId, r.ok, req.version, r.error) } });
  }

  private async onUnpublish(conn: ClientConnection, requestId: number, registerId: string, version: number): Promise<void> {
    const p = this.registry.removePublisher(registerId, conn.connectId);
    if (!p) {
      conn.send({ body: { $case: 'result', value: result(requestId, registerId, true, version) } });
      return;
    }
    const r = await this.router.write(
      { op: { $case: 'unpublish', value: { dataInfoId: p.dataInfoId, registerId, version: Math.max(version, p.version), registerTimestamp: Date.now(), sessionAddress: this.selfAddress } } },
      p.dataInfoId,
    );
    this.m.registrations.inc({ kind: 'unpublish', result: r.ok ? 'ok' : (r.error?.code ?? 'error') });
    conn.send({ body: { $case: 'result', value: result(requestId, registerId, r.ok, version, r.error) } });
  }

  private onSubscribe(conn: ClientConnection, req: SubscribeRequest): void {
    const invalid = validateSubscribe(req) ?? (req.registerId ? undefined : { code: ErrorCode.InvalidArgument, message: 'registerId is required', field: 'registerId' });
    if (invalid) {
      this.m.registrations.inc({ kind: 'subscribe', result: 'invalid' });
      conn.send({ body: { $case: 'result', value: result(req.requestId, req.registerId, false, 0, invalid) } });
      return;
    }
    if (!admitSubscribe(this.switchState, conn.clientIp)) {
      this.m.switched.inc({ action: 'subscribeRefused' });
      this.m.registrations.inc({ kind: 'subscribe', result: ErrorCode.Blocked });
      conn.send({ body: { $case: 'result', value: result(req.requestId, req.registerId, false, 0, { code: ErrorCode.Blocked, message: `subscribes from ${conn.clientIp} are blacklisted (${PROVIDE_DATA_KEYS.subscribeBlacklist})`, field: '' }) } });
      return;
    }
    const dataInfoId = toDataInfoId(req.dataId, req.instanceId, req.group);
    const s = this.registry.putSubscriber({ registerId: req.registerId, dataInfoId, connectId: conn.connectId, scope: req.scope as Scope, clientIp: conn.clientIp });
    this.m.registrations.inc({ kind: 'subscribe', result: 'ok' });
    conn.send({ body: { $case: 'result', value: result(req.requestId, req.registerId, true, 0) } });
    this.pipeline.onSubscribe(s);
  }

  // ---- configurators and switches ----

  private onWatchConfig(conn: ClientConnection, req: WatchConfigRequest): void {
    const key = req.key?.trim();
    if (!key || !req.registerId) {
      const field = key ? 'registerId' : 'key';
      conn.send({ body: { $case: 'result', value: result(req.requestId, req.registerId, false, 0, { code: ErrorCode.InvalidArgument, message: `${field} is required`, field }) } });
      return;
    }
    this.configWatchers.put({ registerId: req.registerId, key, connectId: conn.connectId });
    this.m.registrations.inc({ kind: 'watchConfig', result: 'ok' });
    conn.send({ body: { $case: 'result', value: result(req.requestId, req.registerId, true, 0) } });
    const pd = this.meta.provideData(key);
    this.sendConfig(conn, [req.registerId], key, pd);
  }

  private sendConfig(conn: ClientConnection, registerIds: string[], key: string, pd: ProvideData | undefined): void {
    // A removed key stays in meta as an empty value with a higher version: the watcher sees it go.
    const exists = pd !== undefined && pd.value !== '';
    if (conn.send({ body: { $case: 'config', value: { registerIds, key, value: exists ? pd.value : '', version: pd?.version ?? 0, exists } } })) this.m.configPushes.inc();
  }

  /** A provide-data change from meta: pushed to its configurators; switches applied. */
  private onProvideData(pd: ProvideData): void {
    for (const plan of this.configWatchers.plan(pd.key)) {
      const conn = this.connections.get(plan.connectId);
      if (conn) this.sendConfig(conn, plan.registerIds, pd.key, pd);
    }
    const before = this.switchState;
    const after = applySwitch(before, pd.key, pd.value);
    if (after === before) return;
    this.switchState = after;
    this.logger.info({ key: pd.key, value: pd.value, version: pd.version }, 'switch changed');
    const t = switchTransition(before, after);
    if (t.turnedOff.length > 0) this.clientOffIps(t.turnedOff);
    if (t.turnedOn.length > 0) this.closeIps(t.turnedOn);
    if (t.resumePushes) this.pipeline.resume();
  }

  /**
   * Removes the publishers of every connection from one of `ips`, here and at data; keeps the connections and
   * their subscribers. Returns the connections acted on.
   */
  clientOffIps(ips: readonly string[]): string[] {
    const wanted = new Set(ips);
    return this.clientOffConnections([...this.connections.values()].filter((c) => wanted.has(c.clientIp)).map((c) => c.connectId));
  }

  /** Removes the publishers of the given connections, here and at data. Returns those that exist. */
  clientOffConnections(connectIds: readonly string[]): string[] {
    const done: string[] = [];
    let removed = 0;
    for (const id of connectIds) {
      if (!this.connections.has(id)) continue;
      done.push(id);
      removed += this.registry.removePublishersOf(id).length;
    }
    if (done.length === 0) return done;
    this.m.switched.inc({ action: 'publishersRemoved' }, removed);
    this.logger.info({ connections: done.length, publishers: removed }, 'client-off: publishers removed');
    void this.clientOff(done);
    return done;
  }

  /** Closes every connection from one of `ips`, so their clients reconnect and re-register (a client-open). */
  private closeIps(ips: readonly string[]): void {
    const wanted = new Set(ips);
    let n = 0;
    for (const c of this.connections.values()) {
      if (!wanted.has(c.clientIp)) continue;
      c.close();
      n++;
    }
    this.m.switched.inc({ action: 'connectionsClosed' }, n);
    this.logger.info({ ips, connections: n }, 'client-open: connections closed so their clients re-register');
  }
}

function result(requestId: number, registerId: string, ok: boolean, version: number, error?: ErrorValue | ErrorInfo): RegisterResult {
  return {
    requestId,
    registerId,
    ok,
    version,
    error: error ? { code: error.code, message: error.message, field: error.field ?? '', leader: error.leader ?? '' } : undefined,
  };
}

function peerIp(peer: string): string {
  const m = peer.match(/^(?:ipv[46]:)?\[?([^\]]+?)\]?:\d+$/);
  return m ? m[1] : peer;
}
