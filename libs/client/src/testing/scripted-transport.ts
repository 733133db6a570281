import type { ClientMessage, ServerMessage } from '@sofareg/contracts';
import type { Transport, TransportConnection, TransportHandlers } from '../transport';

type ClientBody = NonNullable<ClientMessage['body']>;
/** The `$case` names of client messages. */
export type ClientCase = ClientBody['$case'];
/** The value type of one client message case. */
export type ClientValue<C extends ClientCase> = Extract<ClientBody, { $case: C }>['value'];

/**
 * A transport under the test's full control: it records every stream the client opens and every message it
 * sends; the test answers by hand (`hello()`, `result()`, `push()`, `end()`). Nothing happens on its own.
 */
export class ScriptedTransport implements Transport {
  readonly connections: ScriptedConnection[] = [];
  /** When set, `open` throws this (a synchronous dial failure). */
  failOpen: Error | undefined;

  open(server: string, handlers: TransportHandlers): TransportConnection {
    if (this.failOpen) throw this.failOpen;
    const c = new ScriptedConnection(server, handlers, this.connections.length + 1);
    this.connections.push(c);
    return c;
  }

  /** The most recently opened stream. */
  get last(): ScriptedConnection {
    const c = this.connections[this.connections.length - 1];
    if (!c) throw new Error('no connection was opened');
    return c;
  }
}

/** One scripted stream. */
export class ScriptedConnection implements TransportConnection {
  readonly sent: ClientMessage[] = [];
  closedByClient = false;
  private ended = false;
  private nextPushId = 1;

  constructor(
    readonly server: string,
    private readonly handlers: TransportHandlers,
    readonly index: number,
  ) {}

  send(message: ClientMessage): void {
    if (this.closedByClient) return;
    this.sentFrames.push(message);
    if (message.body?.$case === 'batch') this.sent.push(...message.body.value.messages);
    else this.sent.push(message);
  }

  close(): void {
    this.closedByClient = true;
  }

  /** Sent frames as they went out: a batch stays one entry (`cases()` and `sentOf()` look inside batches). */
  get frames(): readonly ClientMessage[] {
    return this.sentFrames;
  }
  private readonly sentFrames: ClientMessage[] = [];

  /** `$case`s sent so far, e.g. `['hello', 'publish', 'subscribe']`. */
  cases(): string[] {
    return this.sent.map((m) => m.body?.$case ?? 'empty');
  }

  /** Sent messages of one case, with their values. */
  sentOf<C extends ClientCase>($case: C): ClientValue<C>[] {
    const out: ClientValue<C>[] = [];
    for (const m of this.sent) if (m.body?.$case === $case) out.push(m.body.value as ClientValue<C>);
    return out;
  }

  /** Delivers any server message (works even after close: that is how stale callbacks are simulated). */
  deliver(message: ServerMessage): void {
    this.handlers.onMessage(message);
  }

  /** Answers the client's hello; `acceptsBatches` lets the client coalesce what it sends into batch frames. */
  hello(connectId = `conn-${this.index}`, acceptsBatches = false): void {
    this.deliver({
      body: {
        $case: 'hello',
        value: { connectId, sessionAddress: this.server, zone: 'DEFAULT_ZONE', serverTime: 0, acceptsBatches },
      },
    });
  }

  /** Answers one request (by requestId) ok, with `version` for publishes (default: the version sent). */
  ok(requestId: number, registerId: string, version = 0): void {
    this.deliver({ body: { $case: 'result', value: { requestId, registerId, ok: true, version, error: undefined } } });
  }

  /** Answers every request sent so far and not yet answered by this helper. */
  ackAll(): void {
    for (const m of this.sent.slice(this.acked)) {
      const b = m.body;
      if (!b) continue;
      if (b.$case === 'publish') this.ok(b.value.requestId, b.value.registerId, b.value.version);
      else if (
        b.$case === 'unpublish' ||
        b.$case === 'subscribe' ||
        b.$case === 'unsubscribe' ||
        b.$case === 'watchConfig' ||
        b.$case === 'unwatchConfig'
      )
        this.ok(b.value.requestId, b.value.registerId);
    }
    this.acked = this.sent.length;
  }
  private acked = 0;

  /** Refuses one request with an error code (and field). */
  refuse(requestId: number, registerId: string, code: string, message: string, field = ''): void {
    this.deliver({
      body: {
        $case: 'result',
        value: { requestId, registerId, ok: false, version: 0, error: { code, message, field, leader: '' } },
      },
    });
  }

  /** Pushes a datum to the given subscribers; returns the pushId. */
  push(dataInfoId: string, registerIds: string[], version: number, zoneData: Record<string, string[]> = {}): number {
    const pushId = this.nextPushId++;
    const zones: Record<string, { dataList: string[] }> = {};
    for (const [zone, dataList] of Object.entries(zoneData)) zones[zone] = { dataList };
    this.deliver({
      body: {
        $case: 'push',
        value: { pushId, dataInfoId, registerIds, data: { zoneData: zones, localZone: 'DEFAULT_ZONE', version } },
      },
    });
    return pushId;
  }

  /** Ends the stream from the server side (with an error, or cleanly). Only the first call counts. */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers.onClose(error);
  }
}
