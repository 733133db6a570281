import { Inject, Injectable } from '@nestjs/common';
import type { ClientMessage, ServerMessage } from '@sofareg/contracts';
import { ErrorCode } from '@sofareg/model';
import { CONFIG, LOGGER, Logger, grpc } from '@sofareg/server-kit';
import type { TokenBucket } from '@sofareg/session-core';
import { SessionNode } from '@sofareg/session-node';
import { randomUUID } from 'node:crypto';
import { ClientConnection, effectiveClientIp } from './client-connection';
import { ClientConnections } from './client-connections';
import { ProvideDataService } from './provide-data.service';
import { RegistrationService } from './registration.service';
import { resultMessage } from './registration-result';
import { SessionConfig } from './session-config';
import { SessionIdentity } from './session-identity';
import { SessionMetrics } from './session-metrics';
import { SessionReadiness } from './session-readiness';
import { ADMISSION } from './session.tokens';

/**
 * Client streams (SessionService.Connect): admits a stream (connection limit, connects a second), reads its
 * frames and dispatches each message, and cleans up when it closes.
 */
@Injectable()
export class ClientStreamService {
  constructor(
    @Inject(CONFIG) private readonly config: SessionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(ADMISSION) private readonly admission: TokenBucket,
    private readonly identity: SessionIdentity,
    private readonly connections: ClientConnections,
    private readonly node: SessionNode,
    private readonly registrations: RegistrationService,
    private readonly provideData: ProvideDataService,
    private readonly metrics: SessionMetrics,
    private readonly readiness: SessionReadiness,
  ) {}

  /** Refuses new streams from now on and closes every open one (their clients reconnect elsewhere). */
  closeAll(): void {
    this.readiness.stopping = true;
    for (const c of this.connections.values()) c.close();
  }

  /** A new client stream. */
  accept(call: grpc.ServerDuplexStream<ClientMessage, ServerMessage>): void {
    const { started, stopping } = this.readiness;
    if (!started || stopping || this.connections.size >= this.config.maxConnections) {
      this.metrics.refusedConnections.inc();
      const details = !started
        ? 'session is starting; try again shortly'
        : stopping
          ? 'session is shutting down'
          : 'session is at its connection limit; try another';
      call.emit('error', { code: grpc.status.UNAVAILABLE, details });
      return;
    }
    if (!this.admission.tryTake(Date.now())) {
      this.metrics.throttled.inc();
      const rate = this.config.maxConnectsPerSecond;
      const details = `session admits at most ${rate} new connections a second; retry with backoff`;
      call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details });
      return;
    }
    const peer = call.getPeer();
    const bounds = {
      maxBufferedBytes: this.config.maxConnectionBufferBytes,
      maxQueuedMessages: this.config.maxConnectionQueue,
    };
    const overflow = (c: ClientConnection, why: string) => {
      this.metrics.overflow.inc();
      const ctx = { connectId: c.connectId, peer: c.peer, queued: why };
      this.logger.warn(ctx, 'client reads too slowly; disconnecting it');
    };
    const { outbound } = this.connections;
    const conn = new ClientConnection(randomUUID(), peer, peerIp(peer), call, bounds, overflow, outbound);
    this.connections.add(conn);
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
    this.provideData.configWatchers.removeConnection(conn.connectId);
    // A session shutting down leaves its publishers to the data servers' session leases.
    const counts = this.node.connectionClosed(conn.connectId, !this.readiness.stopping);
    const ctx = { connectId: conn.connectId, peer: conn.peer, app: conn.hello?.appName, ...counts };
    this.logger.info(ctx, 'client connection closed');
  }

  private onFrame(conn: ClientConnection, msg: ClientMessage): void {
    if (msg.body?.$case !== 'batch') {
      this.metrics.receivedFrames.observe(1);
      return this.onMessage(conn, msg);
    }
    const messages = msg.body.value.messages;
    this.metrics.receivedFrames.observe(messages.length);
    for (const m of messages) {
      if (conn.closed) return;
      if (m.body?.$case === 'batch') {
        const error = { code: ErrorCode.InvalidArgument, message: 'a batch cannot hold a batch', field: 'batch' };
        conn.send(resultMessage(0, '', false, 0, error));
        continue;
      }
      this.onMessage(conn, m);
    }
  }

  private onMessage(conn: ClientConnection, msg: ClientMessage): void {
    const body = msg.body;
    if (!body) return;
    if (body.$case !== 'hello' && !conn.hello) {
      const message = 'the first message on a connection must be hello';
      conn.send(resultMessage(0, '', false, 0, { code: ErrorCode.InvalidArgument, message, field: 'hello' }));
      return;
    }
    switch (body.$case) {
      case 'hello': {
        conn.hello = body.value;
        conn.clientIp = effectiveClientIp(conn.clientIp, body.value.clientIp);
        const { address: sessionAddress } = this.identity;
        const { zone } = this.config;
        const hello = { connectId: conn.connectId, sessionAddress, zone, serverTime: Date.now(), acceptsBatches: true };
        conn.send({ body: { $case: 'hello', value: hello } });
        this.logger.debug({ connectId: conn.connectId, app: body.value.appName, peer: conn.peer }, 'client connected');
        return;
      }
      case 'heartbeat':
        conn.send({ body: { $case: 'heartbeat', value: { sentAt: body.value.sentAt, serverTime: Date.now() } } });
        return;
      case 'publish':
        void this.registrations.publish(conn, body.value);
        return;
      case 'unpublish':
        void this.registrations.unpublish(conn, body.value.requestId, body.value.registerId, body.value.version);
        return;
      case 'subscribe':
        this.registrations.subscribe(conn, body.value);
        return;
      case 'unsubscribe':
        this.registrations.unsubscribe(conn, body.value.requestId, body.value.registerId);
        return;
      case 'pushAck':
        this.node.pushAck(body.value.pushId, conn.connectId);
        return;
      case 'watchConfig':
        this.provideData.watch(conn, body.value);
        return;
      case 'unwatchConfig':
        this.provideData.unwatch(conn, body.value.requestId, body.value.registerId);
        return;
    }
  }
}

/** The IP of a gRPC peer string (`ipv4:1.2.3.4:5`, `ipv6:[::1]:5`, `1.2.3.4:5`). */
function peerIp(peer: string): string {
  const m = peer.match(/^(?:ipv[46]:)?\[?([^\]]+?)\]?:\d+$/);
  return m ? m[1] : peer;
}
