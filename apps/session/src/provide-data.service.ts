import { Inject, Injectable } from '@nestjs/common';
import type { ProvideData, WatchConfigRequest } from '@sofareg/contracts';
import { ErrorCode } from '@sofareg/model';
import { LOGGER, Logger, META_CLIENT, MetaClient } from '@sofareg/server-kit';
import { ConfigWatchers, applySwitch, switchTransition } from '@sofareg/session-core';
import { SessionNode } from '@sofareg/session-node';
import type { ClientConnection } from './client-connection';
import { ClientConnections } from './client-connections';
import { resultMessage } from './registration-result';
import { SessionMetrics } from './session-metrics';
import { SwitchBoard } from './switch-board';

/**
 * Meta's provide-data on this session: values pushed to the clients watching their keys (configurators), and
 * the switches applied (client-off removes publishers, client-open closes connections so their clients
 * re-register, stop-push and gray-open hold or release pushes).
 */
@Injectable()
export class ProvideDataService {
  /** Configurators (watches of provide-data keys). */
  readonly configWatchers = new ConfigWatchers();

  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(META_CLIENT) private readonly meta: MetaClient,
    private readonly node: SessionNode,
    private readonly connections: ClientConnections,
    private readonly switches: SwitchBoard,
    private readonly metrics: SessionMetrics,
  ) {}

  /** A client watches a provide-data key: answered, then sent the key's current value. */
  watch(conn: ClientConnection, req: WatchConfigRequest): void {
    const key = req.key?.trim();
    if (!key || !req.registerId) {
      const field = key ? 'registerId' : 'key';
      const error = { code: ErrorCode.InvalidArgument, message: `${field} is required`, field };
      conn.send(resultMessage(req.requestId, req.registerId, false, 0, error));
      return;
    }
    this.configWatchers.put({ registerId: req.registerId, key, connectId: conn.connectId });
    this.metrics.registrations.inc({ kind: 'watchConfig', result: 'ok' });
    conn.send(resultMessage(req.requestId, req.registerId, true, 0));
    this.sendConfig(conn, [req.registerId], key, this.meta.provideData(key));
  }

  unwatch(conn: ClientConnection, requestId: number, registerId: string): void {
    this.configWatchers.remove(registerId, conn.connectId);
    conn.send(resultMessage(requestId, registerId, true, 0));
  }

  private sendConfig(conn: ClientConnection, registerIds: string[], key: string, pd: ProvideData | undefined): void {
    // A removed key stays in meta as an empty value with a higher version: the watcher sees it go.
    const exists = pd !== undefined && pd.value !== '';
    const value = { registerIds, key, value: exists ? pd.value : '', version: pd?.version ?? 0, exists };
    if (conn.send({ body: { $case: 'config', value } })) this.metrics.configPushes.inc();
  }

  /** A provide-data change from meta: pushed to its configurators; switches applied. */
  onProvideData(pd: ProvideData): void {
    for (const plan of this.configWatchers.plan(pd.key)) {
      const conn = this.connections.get(plan.connectId);
      if (conn) this.sendConfig(conn, plan.registerIds, pd.key, pd);
    }
    const before = this.switches.state;
    const after = applySwitch(before, pd.key, pd.value);
    if (after === before) return;
    this.switches.state = after;
    this.logger.info({ key: pd.key, value: pd.value, version: pd.version }, 'switch changed');
    const t = switchTransition(before, after);
    if (t.turnedOff.length > 0) this.clientOffIps(t.turnedOff);
    if (t.turnedOn.length > 0) this.closeIps(t.turnedOn);
    if (t.resumePushes) this.node.pipeline.resume();
  }

  /**
   * Removes the publishers of every connection from one of `ips`, here and at data; keeps the connections and
   * their subscribers. Returns the connections acted on.
   */
  clientOffIps(ips: readonly string[]): string[] {
    const wanted = new Set(ips);
    const ids = [...this.connections.values()].filter((c) => wanted.has(c.clientIp)).map((c) => c.connectId);
    return this.clientOffConnections(ids);
  }

  /** Removes the publishers of the given connections, here and at data. Returns those that exist. */
  clientOffConnections(connectIds: readonly string[]): string[] {
    const done = connectIds.filter((id) => this.connections.has(id));
    if (done.length === 0) return done;
    const removed = this.node.removePublishersOf(done);
    this.metrics.switched.inc({ action: 'publishersRemoved' }, removed);
    this.logger.info({ connections: done.length, publishers: removed }, 'client-off: publishers removed');
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
    this.metrics.switched.inc({ action: 'connectionsClosed' }, n);
    this.logger.info({ ips, connections: n }, 'client-open: connections closed so their clients re-register');
  }
}
