import type { ClientMessage, ServerMessage, UserData } from '@sofareg/contracts';
import { buildUserData, ErrorValue, isScope, PublishedData, Scope, toDataInfoId } from '@sofareg/model';
import type { Transport, TransportConnection, TransportHandlers } from '../transport';

interface FakePublisher extends PublishedData {
  readonly connection: FakeSessionConnection;
  readonly version: number;
}

interface FakeSubscriber {
  readonly connection: FakeSessionConnection;
  readonly registerId: string;
  readonly dataInfoId: string;
  readonly scope: Scope;
}

interface Datum {
  version: number;
  readonly publishers: Map<string, FakePublisher>;
}

/**
 * An in-memory session server speaking the client protocol: it answers hello, stores publishers per
 * connection, acknowledges registrations, pushes every datum change (first push on subscribe, possibly
 * empty) to the subscribers of every connection, answers heartbeats, and drops a connection's publishers
 * when it closes. Everything it sends is delivered asynchronously (a microtask), like a network would.
 * For unit tests of applications and of the client; not a model of the real session's internals.
 */
export class FakeSession {
  /** When false, new streams fail at once with UNAVAILABLE. */
  up = true;
  /** When false, the session never answers hello (a hung server). */
  answerHello = true;
  /** Return an error to refuse a registration. */
  refuse: ((message: ClientMessage) => ErrorValue | undefined) | undefined;
  /** Every message received, with the connection it came on. */
  readonly received: { connectId: string; message: ClientMessage }[] = [];
  /** pushIds acknowledged by clients. */
  readonly acks: number[] = [];

  private readonly connections = new Set<FakeSessionConnection>();
  private readonly datums = new Map<string, Datum>();
  private readonly subscribers = new Map<string, FakeSubscriber>();
  private readonly configs = new Map<string, { value: string | undefined; version: number }>();
  private readonly watchers = new Map<string, { connection: FakeSessionConnection; key: string }>();
  private nextConnect = 1;
  private nextPushId = 1;
  private timestamp = 1;

  constructor(
    readonly address = '127.0.0.1:9600',
    readonly zone = 'DEFAULT_ZONE',
  ) {}

  /** Live connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** The data lists currently published under a dataInfoId, by zone (what a dataCenter subscriber sees). */
  published(dataInfoId: string): Record<string, string[]> {
    const d = this.datums.get(dataInfoId);
    return d ? buildUserData(d.publishers.values(), 'dataCenter', this.zone, d.version).zoneData : {};
  }

  /** Opens a connection whose server-side messages go to `sink` (used by {@link fakeSessionTransport}). */
  connect(sink: (m: ServerMessage) => void, onClosed: (error?: Error) => void): FakeSessionConnection {
    const c = new FakeSessionConnection(this, `fake-conn-${this.nextConnect++}`, sink, onClosed);
    this.connections.add(c);
    return c;
  }

  /** Ends every connection from the server side, as a crashing or restarting session would. */
  dropAll(error: Error = new Error('14 UNAVAILABLE: fake session dropped the connection')): void {
    for (const c of [...this.connections]) c.serverClose(error);
  }

  /** Sets a provide-data value and pushes it to its watchers. */
  setConfig(key: string, value: string | undefined): void {
    const version = (this.configs.get(key)?.version ?? 0) + 1;
    this.configs.set(key, { value, version });
    for (const [registerId, w] of this.watchers) if (w.key === key) this.sendConfig(w.connection, registerId, key);
  }

  /** @internal */
  receive(c: FakeSessionConnection, message: ClientMessage): void {
    if (message.body?.$case === 'batch') {
      for (const m of message.body.value.messages) this.receive(c, m);
      return;
    }
    this.received.push({ connectId: c.connectId, message });
    const body = message.body;
    if (!body) return;
    if (!c.helloed && body.$case !== 'hello') return;
    const refusal = this.refuse?.(message);
    switch (body.$case) {
      case 'hello':
        c.helloed = true;
        c.zone = body.value.zone || this.zone;
        if (this.answerHello) {
          c.send({
            body: {
              $case: 'hello',
              value: {
                connectId: c.connectId,
                sessionAddress: this.address,
                zone: this.zone,
                serverTime: 0,
                acceptsBatches: false,
              },
            },
          });
        }
        return;
      case 'heartbeat':
        c.send({ body: { $case: 'heartbeat', value: { sentAt: body.value.sentAt, serverTime: 0 } } });
        return;
      case 'pushAck':
        this.acks.push(body.value.pushId);
        return;
      case 'publish': {
        const v = body.value;
        if (refusal) return this.result(c, v.requestId, v.registerId, 0, refusal);
        const dataInfoId = toDataInfoId(v.dataId, v.instanceId, v.group);
        const datum = this.datum(dataInfoId);
        const existing = datum.publishers.get(v.registerId);
        if (!existing || existing.version <= v.version) {
          const changed = !existing || existing.dataList.join('\n') !== v.dataList.join('\n');
          datum.publishers.set(v.registerId, {
            registerId: v.registerId,
            zone: c.zone,
            dataList: [...v.dataList],
            registerTimestamp: existing?.registerTimestamp ?? this.timestamp++,
            connection: c,
            version: v.version,
          });
          if (changed) this.bump(dataInfoId);
        }
        return this.result(c, v.requestId, v.registerId, v.version);
      }
      case 'unpublish': {
        const v = body.value;
        if (refusal) return this.result(c, v.requestId, v.registerId, 0, refusal);
        for (const [dataInfoId, datum] of this.datums) {
          if (datum.publishers.delete(v.registerId)) this.bump(dataInfoId);
        }
        return this.result(c, v.requestId, v.registerId, v.version);
      }
      case 'subscribe': {
        const v = body.value;
        if (refusal) return this.result(c, v.requestId, v.registerId, 0, refusal);
        if (!isScope(v.scope)) {
          return this.result(c, v.requestId, v.registerId, 0, {
            code: 'InvalidArgument',
            field: 'scope',
            message: 'unknown scope',
          });
        }
        const dataInfoId = toDataInfoId(v.dataId, v.instanceId, v.group);
        const sub: FakeSubscriber = { connection: c, registerId: v.registerId, dataInfoId, scope: v.scope };
        this.subscribers.set(v.registerId, sub);
        this.result(c, v.requestId, v.registerId, 0);
        this.pushTo([sub], dataInfoId);
        return;
      }
      case 'unsubscribe': {
        const v = body.value;
        this.subscribers.delete(v.registerId);
        return this.result(c, v.requestId, v.registerId, 0, refusal);
      }
      case 'watchConfig': {
        const v = body.value;
        if (refusal) return this.result(c, v.requestId, v.registerId, 0, refusal);
        this.watchers.set(v.registerId, { connection: c, key: v.key });
        this.result(c, v.requestId, v.registerId, 0);
        this.sendConfig(c, v.registerId, v.key);
        return;
      }
      case 'unwatchConfig': {
        const v = body.value;
        this.watchers.delete(v.registerId);
        return this.result(c, v.requestId, v.registerId, 0, refusal);
      }
    }
  }

  /** @internal the connection closed (either side): client-off. */
  closed(c: FakeSessionConnection): void {
    if (!this.connections.delete(c)) return;
    for (const [id, s] of this.subscribers) if (s.connection === c) this.subscribers.delete(id);
    for (const [id, w] of this.watchers) if (w.connection === c) this.watchers.delete(id);
    for (const [dataInfoId, datum] of this.datums) {
      let changed = false;
      for (const [id, p] of datum.publishers) {
        if (p.connection === c) {
          datum.publishers.delete(id);
          changed = true;
        }
      }
      if (changed) this.bump(dataInfoId);
    }
  }

  private datum(dataInfoId: string): Datum {
    let d = this.datums.get(dataInfoId);
    if (!d) {
      d = { version: 0, publishers: new Map() };
      this.datums.set(dataInfoId, d);
    }
    return d;
  }

  private bump(dataInfoId: string): void {
    this.datum(dataInfoId).version++;
    const subs = [...this.subscribers.values()].filter((s) => s.dataInfoId === dataInfoId);
    this.pushTo(subs, dataInfoId);
  }

  /** One push per (connection, scope) group, as the real session batches them. */
  private pushTo(subs: FakeSubscriber[], dataInfoId: string): void {
    const groups = new Map<string, FakeSubscriber[]>();
    for (const s of subs) {
      const k = `${s.connection.connectId}|${s.scope}`;
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    const datum = this.datum(dataInfoId);
    for (const group of groups.values()) {
      const value = buildUserData(datum.publishers.values(), group[0].scope, this.zone, datum.version);
      const data: UserData = { zoneData: {}, localZone: value.localZone, version: value.version };
      for (const [zone, dataList] of Object.entries(value.zoneData)) data.zoneData[zone] = { dataList };
      group[0].connection.send({
        body: {
          $case: 'push',
          value: { pushId: this.nextPushId++, dataInfoId, registerIds: group.map((s) => s.registerId), data },
        },
      });
    }
  }

  private sendConfig(c: FakeSessionConnection, registerId: string, key: string): void {
    const cfg = this.configs.get(key);
    const exists = cfg?.value !== undefined;
    c.send({
      body: {
        $case: 'config',
        value: { registerIds: [registerId], key, value: cfg?.value ?? '', version: cfg?.version ?? 0, exists },
      },
    });
  }

  private result(
    c: FakeSessionConnection,
    requestId: number,
    registerId: string,
    version: number,
    error?: ErrorValue,
  ): void {
    c.send({
      body: {
        $case: 'result',
        value: {
          requestId,
          registerId,
          ok: !error,
          version,
          error: error
            ? { code: error.code, message: error.message, field: error.field ?? '', leader: error.leader ?? '' }
            : undefined,
        },
      },
    });
  }
}

/** The server side of one client stream of a {@link FakeSession}. */
export class FakeSessionConnection {
  helloed = false;
  zone: string;
  private open = true;

  constructor(
    private readonly session: FakeSession,
    readonly connectId: string,
    private readonly sink: (m: ServerMessage) => void,
    private readonly onClosed: (error?: Error) => void,
  ) {
    this.zone = session.zone;
  }

  /** Sends to the client (asynchronously). */
  send(message: ServerMessage): void {
    if (!this.open) return;
    queueMicrotask(() => {
      if (this.open) this.sink(message);
    });
  }

  /** A message from the client (delivered asynchronously). */
  fromClient(message: ClientMessage): void {
    if (!this.open) return;
    queueMicrotask(() => {
      if (this.open) this.session.receive(this, message);
    });
  }

  /** The client closed the stream. */
  clientClose(): void {
    if (!this.open) return;
    this.open = false;
    this.session.closed(this);
  }

  /** The server ends the stream. */
  serverClose(error?: Error): void {
    if (!this.open) return;
    this.open = false;
    this.session.closed(this);
    queueMicrotask(() => this.onClosed(error));
  }
}

/**
 * A {@link Transport} over in-memory {@link FakeSession}s, keyed by address. Dialing an unknown address or a
 * session that is `up = false` fails asynchronously with UNAVAILABLE; `opened` counts dials per address.
 */
export function fakeSessionTransport(sessions: readonly FakeSession[]): Transport & { opened: Map<string, number> } {
  const byAddress = new Map(sessions.map((s) => [s.address, s]));
  const opened = new Map<string, number>();
  return {
    opened,
    open(server: string, handlers: TransportHandlers): TransportConnection {
      opened.set(server, (opened.get(server) ?? 0) + 1);
      const session = byAddress.get(server);
      if (!session || !session.up) {
        let closed = false;
        queueMicrotask(() => {
          if (!closed) handlers.onClose(new Error(`14 UNAVAILABLE: no fake session up at ${server}`));
        });
        return { send: () => undefined, close: () => void (closed = true) };
      }
      let closedByClient = false;
      const c = session.connect(
        (m) => {
          if (!closedByClient) handlers.onMessage(m);
        },
        (e) => {
          if (!closedByClient) handlers.onClose(e);
        },
      );
      return {
        send: (m) => c.fromClient(m),
        close: () => {
          closedByClient = true;
          c.clientClose();
        },
      };
    },
  };
}
