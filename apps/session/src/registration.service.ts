import { Inject, Injectable } from '@nestjs/common';
import type { PublishRequest, Publisher, SubscribeRequest } from '@sofareg/contracts';
import { ErrorCode, PROVIDE_DATA_KEYS, Scope, toDataInfoId, validatePublish, validateSubscribe } from '@sofareg/model';
import { CONFIG, LOGGER, Logger } from '@sofareg/server-kit';
import { admitPublish, admitSubscribe } from '@sofareg/session-core';
import { SessionNode } from '@sofareg/session-node';
import type { ClientConnection } from './client-connection';
import { resultMessage } from './registration-result';
import { SessionConfig } from './session-config';
import { SessionIdentity } from './session-identity';
import { SessionMetrics } from './session-metrics';
import { SwitchBoard } from './switch-board';

const REGISTER_ID_REQUIRED = {
  code: ErrorCode.InvalidArgument,
  message: 'registerId is required',
  field: 'registerId',
};

/**
 * A client's publishes and subscribes: validated, admitted by the switches, then handed to the session node;
 * each request is answered on its connection once the node (for a publish: data) has.
 */
@Injectable()
export class RegistrationService {
  constructor(
    @Inject(CONFIG) private readonly config: SessionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly identity: SessionIdentity,
    private readonly node: SessionNode,
    private readonly switches: SwitchBoard,
    private readonly metrics: SessionMetrics,
  ) {}

  async publish(conn: ClientConnection, req: PublishRequest): Promise<void> {
    const started = process.hrtime.bigint();
    const invalid = validatePublish(req) ?? (req.registerId ? undefined : REGISTER_ID_REQUIRED);
    if (invalid) {
      this.metrics.registrations.inc({ kind: 'publish', result: 'invalid' });
      conn.send(resultMessage(req.requestId, req.registerId, false, req.version, invalid));
      return;
    }
    const hello = conn.hello;
    if (!hello) return; // the client stream answers connections that skipped hello
    const admission = admitPublish(this.switches.state, conn.clientIp);
    if (admission !== 'accept') {
      // Client-off: acknowledged but not kept, so the client re-registers it when its IP is opened again.
      const refused = admission === 'refuse';
      this.metrics.switched.inc({ action: refused ? 'publishRefused' : 'publishIgnored' });
      this.metrics.registrations.inc({ kind: 'publish', result: refused ? ErrorCode.Blocked : 'ignored' });
      const message = `publishes from ${conn.clientIp} are blacklisted (${PROVIDE_DATA_KEYS.publishBlacklist})`;
      const blocked = refused ? { code: ErrorCode.Blocked, message, field: '' } : undefined;
      conn.send(resultMessage(req.requestId, req.registerId, !refused, req.version, blocked));
      return;
    }
    const publisher: Publisher = {
      dataInfoId: toDataInfoId(req.dataId, req.instanceId, req.group),
      registerId: req.registerId,
      dataList: req.dataList,
      zone: this.config.zone,
      appName: req.appName || hello.appName,
      clientId: hello.clientId,
      processId: hello.processId,
      connectId: conn.connectId,
      sessionProcessId: this.identity.processId,
      sessionAddress: this.identity.address,
      version: req.version,
      registerTimestamp: Date.now(),
      clientIp: conn.clientIp,
    };
    const stale = this.node.refusePublish(publisher);
    if (stale) {
      conn.send(resultMessage(req.requestId, req.registerId, false, req.version, stale));
      return;
    }
    const result = await this.node.publish(publisher);
    if (result.ok) this.metrics.publishedOk.inc();
    else this.metrics.registrations.inc({ kind: 'publish', result: result.error?.code ?? 'error' });
    this.metrics.writeLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (!result.ok) {
      const ctx = { registerId: publisher.registerId, dataInfoId: publisher.dataInfoId, error: result.error };
      this.logger.warn(ctx, 'publish not acknowledged by data');
    }
    conn.send(resultMessage(req.requestId, req.registerId, result.ok, req.version, result.error));
  }

  async unpublish(conn: ClientConnection, requestId: number, registerId: string, version: number): Promise<void> {
    const owned = this.node.registry.getPublisher(registerId)?.connectId === conn.connectId;
    const result = await this.node.unpublish(registerId, conn.connectId, version);
    if (owned) {
      this.metrics.registrations.inc({ kind: 'unpublish', result: result.ok ? 'ok' : (result.error?.code ?? 'error') });
    }
    conn.send(resultMessage(requestId, registerId, result.ok, version, result.error));
  }

  subscribe(conn: ClientConnection, req: SubscribeRequest): void {
    const invalid = validateSubscribe(req) ?? (req.registerId ? undefined : REGISTER_ID_REQUIRED);
    if (invalid) {
      this.metrics.registrations.inc({ kind: 'subscribe', result: 'invalid' });
      conn.send(resultMessage(req.requestId, req.registerId, false, 0, invalid));
      return;
    }
    if (!admitSubscribe(this.switches.state, conn.clientIp)) {
      this.metrics.switched.inc({ action: 'subscribeRefused' });
      this.metrics.registrations.inc({ kind: 'subscribe', result: ErrorCode.Blocked });
      const message = `subscribes from ${conn.clientIp} are blacklisted (${PROVIDE_DATA_KEYS.subscribeBlacklist})`;
      conn.send(
        resultMessage(req.requestId, req.registerId, false, 0, { code: ErrorCode.Blocked, message, field: '' }),
      );
      return;
    }
    const dataInfoId = toDataInfoId(req.dataId, req.instanceId, req.group);
    const { registerId, requestId } = req;
    const sub = {
      registerId,
      dataInfoId,
      connectId: conn.connectId,
      scope: req.scope as Scope,
      clientIp: conn.clientIp,
    };
    this.node.subscribe(sub, () => {
      this.metrics.registrations.inc({ kind: 'subscribe', result: 'ok' });
      conn.send(resultMessage(requestId, registerId, true, 0));
    });
  }

  unsubscribe(conn: ClientConnection, requestId: number, registerId: string): void {
    this.node.unsubscribe(registerId, conn.connectId);
    conn.send(resultMessage(requestId, registerId, true, 0));
  }
}
