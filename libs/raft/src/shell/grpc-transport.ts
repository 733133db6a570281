import * as grpc from '@grpc/grpc-js';
import {
  type RaftBatch,
  type RaftMessage,
  type RaftSendAck,
  type RaftSnapshotAck,
  type RaftSnapshotChunk,
  RaftTransportClient,
  RaftTransportService,
} from '@sofareg/contracts';
import { type Message, MessageType, type NodeId } from '../core';
import { RaftNodeError } from './errors';
import { checkAddress } from './peers';
import { messageFromProto, messageToProto } from './proto-codec';
import { type RaftTransport, type TransportHandler, type TransportStats, emptyTransportStats } from './transport';

/** Settings of a {@link GrpcTransport}; every field has a default. */
export interface GrpcTransportOptions {
  /** Where to listen, e.g. `0.0.0.0:9612`. Default: this node's own address in the peer list. */
  listen?: string;
  /** Messages queued per peer before new ones are dropped. Default 16,384. */
  maxQueuedMessages?: number;
  /** Bytes (of entry data, roughly) queued per peer before new messages are dropped. Default 64 MiB. */
  maxQueuedBytes?: number;
  /** Bytes of entries written in one batch (a larger single message still goes alone). Default 4 MiB. */
  maxBatchBytes?: number;
  /** Size of a snapshot chunk. Default 1 MiB. */
  snapshotChunkBytes?: number;
  /** Largest snapshot accepted from a leader. Default 1 GiB. */
  maxSnapshotBytes?: number;
  /** Deadline for sending one snapshot. Default 60 s. */
  snapshotTimeoutMs?: number;
  /** Wait after a failed stream before the next attempt (doubles up to the max; reset by any message from the peer). Default 50 → 1,000 ms. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

const DEFAULTS: Required<Omit<GrpcTransportOptions, 'listen'>> = {
  maxQueuedMessages: 16_384,
  maxQueuedBytes: 64 << 20,
  maxBatchBytes: 4 << 20,
  snapshotChunkBytes: 1 << 20,
  maxSnapshotBytes: 1 << 30,
  snapshotTimeoutMs: 60_000,
  reconnectMinMs: 50,
  reconnectMaxMs: 1_000,
};

const MAX_GRPC_MESSAGE = 64 << 20;

/**
 * Channel options between Raft nodes: quick reconnects (a restarted peer must catch up fast), keepalive, no
 * retries (Raft retransmits what matters) and no channelz bookkeeping (measurable per-message cost). The
 * server keeps channelz on: grpc-js 1.14 tracks a server's sessions only with it, and without them
 * `forceShutdown` leaves peers' connections open.
 */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.enable_retries': 0,
  'grpc.enable_channelz': 0,
  'grpc.keepalive_time_ms': 5_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.min_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.max_receive_message_length': MAX_GRPC_MESSAGE,
  'grpc.max_send_message_length': MAX_GRPC_MESSAGE,
  'grpc.use_local_subchannel_pool': 1,
};

const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.keepalive_time_ms': 5_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 4_000,
  'grpc.max_receive_message_length': MAX_GRPC_MESSAGE,
  'grpc.max_send_message_length': MAX_GRPC_MESSAGE,
};

function approxBytes(m: Message): number {
  let n = 64;
  for (const e of m.entries) n += e.data.length + 24;
  return n;
}

/** The outgoing side towards one peer: a bounded queue drained into one long-lived client stream. */
class PeerLink {
  client: RaftTransportClient;
  private stream: grpc.ClientWritableStream<RaftBatch> | undefined;
  private queue: Message[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private waitingDrain = false;
  private retryAt = 0;
  private backoff = 0;
  snapshotInFlight = false;
  closed = false;

  constructor(
    readonly id: NodeId,
    readonly address: string,
    private readonly transport: GrpcTransport,
  ) {
    this.client = new RaftTransportClient(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  enqueue(m: Message): void {
    const c = this.transport.counters;
    if (Date.now() < this.retryAt) {
      c.droppedPeerDown++;
      return;
    }
    const bytes = approxBytes(m);
    const { maxQueuedMessages, maxQueuedBytes } = this.transport.opts;
    const overBytes = this.queue.length > 0 && this.queuedBytes + bytes > maxQueuedBytes;
    if (this.queue.length >= maxQueuedMessages || overBytes) {
      c.droppedQueueFull++;
      this.transport.noteQueueFull(this.id);
      return;
    }
    this.queue.push(m);
    this.queuedBytes += bytes;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Any message from the peer proves it reachable: retry at once next time. */
  peerAlive(): void {
    this.retryAt = 0;
    this.backoff = 0;
  }

  private open(): grpc.ClientWritableStream<RaftBatch> {
    const s = this.client.send((err: grpc.ServiceError | null, _ack?: RaftSendAck) => {
      if (err) this.broken(s, err);
      else if (this.stream === s) this.stream = undefined;
    });
    s.on('error', () => undefined); // reported through the callback
    this.stream = s;
    return s;
  }

  private broken(s: grpc.ClientWritableStream<RaftBatch>, _err: grpc.ServiceError): void {
    if (this.stream !== s || this.closed) return;
    this.stream = undefined;
    this.waitingDrain = false;
    this.transport.counters.streamErrors++;
    this.transport.counters.droppedPeerDown += this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
    const { reconnectMinMs, reconnectMaxMs } = this.transport.opts;
    this.backoff = this.backoff === 0 ? reconnectMinMs : Math.min(this.backoff * 2, reconnectMaxMs);
    this.retryAt = Date.now() + this.backoff;
  }

  flush(): void {
    if (this.closed || this.waitingDrain || this.queue.length === 0) return;
    const s = this.stream ?? this.open();
    const c = this.transport.counters;
    while (this.queue.length > 0) {
      let n = 0;
      let bytes = 0;
      while (n < this.queue.length) {
        const b = approxBytes(this.queue[n]);
        if (n > 0 && bytes + b > this.transport.opts.maxBatchBytes) break;
        bytes += b;
        n++;
      }
      const ms = n === this.queue.length ? this.queue : this.queue.slice(0, n);
      this.queue = n === this.queue.length ? [] : this.queue.slice(n);
      this.queuedBytes -= bytes;
      const messages: RaftMessage[] = ms.map(messageToProto);
      const ok = s.write({ from: this.transport.self, to: this.id, messages });
      c.batchesSent++;
      c.messagesSent += ms.length;
      if (!ok) {
        this.waitingDrain = true;
        s.once('drain', () => {
          this.waitingDrain = false;
          if (this.stream === s) this.flush();
        });
        return;
      }
    }
  }

  /** Sends one snapshot on its own call, in chunks; reports the outcome to the node. */
  sendSnapshot(m: Message): void {
    const snap = m.snapshot;
    if (!snap || this.snapshotInFlight) return;
    this.snapshotInFlight = true;
    const data = Buffer.from(snap.data.buffer, snap.data.byteOffset, snap.data.byteLength);
    const chunk = this.transport.opts.snapshotChunkBytes;
    let settled = false;
    const done = (ok: boolean, why?: string) => {
      if (settled) return;
      settled = true;
      this.snapshotInFlight = false;
      if (ok) this.transport.counters.snapshotsSent++;
      else this.transport.counters.snapshotsSendFailed++;
      this.transport.snapshotDone(this.id, ok, snap.meta.index, data.length, why);
    };
    const deadline = Date.now() + this.transport.opts.snapshotTimeoutMs;
    const call = this.client.sendSnapshot({ deadline }, (err: grpc.ServiceError | null, ack?: RaftSnapshotAck) => {
      if (err) done(false, err.message);
      else if (!ack?.ok) done(false, ack?.error || 'refused');
      else done(true);
    });
    call.on('error', () => undefined);
    const header = messageToProto(m);
    let off = 0;
    const writeNext = (): void => {
      while (!settled) {
        const first = off === 0;
        const end = Math.min(data.length, off + chunk);
        const piece: RaftSnapshotChunk = {
          from: this.transport.self,
          to: this.id,
          header: first ? header : undefined,
          totalBytes: first ? data.length : 0,
          data: data.subarray(off, end),
          last: end >= data.length,
        };
        off = end;
        const ok = call.write(piece);
        if (piece.last) {
          call.end();
          return;
        }
        if (!ok) {
          call.once('drain', writeNext);
          return;
        }
      }
    };
    writeNext();
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    const s = this.stream;
    this.stream = undefined;
    if (s) {
      try {
        s.cancel();
      } catch {
        // already closed
      }
    }
    this.client.close();
  }
}

interface IncomingSnapshot {
  header: RaftMessage;
  from: NodeId;
  buf: Buffer;
  filled: number;
}

/**
 * The production {@link RaftTransport}: gRPC (`sofareg.v1.RaftTransport`, libs/contracts/proto/raft.proto).
 * Towards each peer, messages wait in a bounded queue and are written in batches (all the messages of one
 * Ready to one peer travel as one `RaftBatch`) on one long-lived client stream, with HTTP/2 flow control;
 * when the queue is full new messages are dropped and counted (Raft retransmits). When a stream fails the
 * queue is dropped and the peer is retried after a short backoff, cleared as soon as the peer is heard from.
 * Snapshots travel on a separate call in chunks, one at a time per peer. Incoming batches from unknown
 * nodes, or addressed to another node id, are ignored and counted; stale terms are the core's business
 * (`status().raft.droppedStaleTerm`).
 */
export class GrpcTransport implements RaftTransport {
  /** @internal */
  readonly opts: Required<Omit<GrpcTransportOptions, 'listen'>> & { listen?: string };
  /** @internal */
  readonly counters: TransportStats = emptyTransportStats();
  /** @internal */
  self: NodeId = '';
  private handler: TransportHandler | undefined;
  private server: grpc.Server | undefined;
  private readonly book = new Map<NodeId, string>();
  private readonly links = new Map<NodeId, PeerLink>();
  private boundPort = 0;
  private stopped = false;
  private lastQueueFullLog = 0;
  private readonly onWarn: (obj: Record<string, unknown>, msg: string) => void;

  constructor(options: GrpcTransportOptions = {}, warn?: (obj: Record<string, unknown>, msg: string) => void) {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.opts = { ...DEFAULTS, ...given };
    for (const [k, v] of Object.entries(this.opts)) {
      if (k !== 'listen' && (!Number.isSafeInteger(v) || (v as number) < 1)) {
        throw new RaftNodeError('InvalidArgument', `GrpcTransport: ${k} must be a positive integer, got ${String(v)}`);
      }
    }
    if (this.opts.listen !== undefined) checkAddress(this.opts.listen, 'GrpcTransport listen');
    this.onWarn = warn ?? ((obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'warn', msg, ...obj })}\n`));
  }

  /** The port bound (useful with `listen: 'host:0'`). */
  get port(): number {
    return this.boundPort;
  }

  async start(self: NodeId, handler: TransportHandler): Promise<void> {
    this.self = self;
    this.handler = handler;
    const listen = this.opts.listen ?? this.book.get(self);
    if (!listen)
      throw new RaftNodeError(
        'InvalidArgument',
        `GrpcTransport: no listen address for '${self}' (set listen, or list it in peers)`,
      );
    const server = new grpc.Server(SERVER_OPTIONS);
    server.addService(RaftTransportService, {
      send: (call: grpc.ServerReadableStream<RaftBatch, RaftSendAck>, cb: grpc.sendUnaryData<RaftSendAck>) =>
        this.onSendCall(call, cb),
      sendSnapshot: (
        call: grpc.ServerReadableStream<RaftSnapshotChunk, RaftSnapshotAck>,
        cb: grpc.sendUnaryData<RaftSnapshotAck>,
      ) => this.onSnapshotCall(call, cb),
    });
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), (err, port) =>
        err
          ? reject(
              new RaftNodeError('InvalidArgument', `GrpcTransport: cannot listen on ${listen}: ${err.message}`, {
                cause: err,
              }),
            )
          : resolve(port),
      ),
    );
    this.server = server;
  }

  setPeer(id: NodeId, address: string): void {
    if (this.book.get(id) === address) return;
    this.book.set(id, address);
    const old = this.links.get(id);
    if (old) {
      old.close();
      this.links.delete(id);
    }
  }

  removePeer(id: NodeId): void {
    this.book.delete(id);
    this.links.get(id)?.close();
    this.links.delete(id);
  }

  peers(): Record<NodeId, string> {
    return Object.fromEntries(this.book);
  }

  send(messages: readonly Message[]): void {
    if (this.stopped) return;
    for (const m of messages) {
      const link = this.link(m.to);
      if (!link) {
        this.counters.droppedNoAddress++;
        continue;
      }
      if (m.type === MessageType.Snap) link.sendSnapshot(m);
      else link.enqueue(m);
    }
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const l of this.links.values()) l.close();
    this.links.clear();
    const server = this.server;
    this.server = undefined;
    // Incoming client streams never end by themselves, so a graceful shutdown would wait for nothing.
    server?.forceShutdown();
  }

  private link(id: NodeId): PeerLink | undefined {
    if (id === this.self) return undefined;
    let l = this.links.get(id);
    if (l) return l;
    const addr = this.book.get(id);
    if (!addr) return undefined;
    l = new PeerLink(id, addr, this);
    this.links.set(id, l);
    return l;
  }

  /** @internal */
  noteQueueFull(peer: NodeId): void {
    const now = Date.now();
    if (now - this.lastQueueFullLog < 5_000) return;
    this.lastQueueFullLog = now;
    this.onWarn(
      { node: this.self, peer, droppedQueueFull: this.counters.droppedQueueFull },
      'raft send queue full: dropping messages',
    );
  }

  /** @internal */
  snapshotDone(peer: NodeId, ok: boolean, index: number, bytes: number, why?: string): void {
    if (!ok) this.onWarn({ node: this.self, peer, index, bytes, err: why }, 'sending a raft snapshot failed');
    if (!this.stopped) this.handler?.snapshotStatus(peer, ok);
  }

  private checkOrigin(from: NodeId, to: NodeId): boolean {
    if (to !== this.self) {
      this.counters.droppedWrongTarget++;
      return false;
    }
    if (!this.book.has(from) || from === this.self) {
      this.counters.droppedUnknownPeer++;
      return false;
    }
    return true;
  }

  private onSendCall(
    call: grpc.ServerReadableStream<RaftBatch, RaftSendAck>,
    cb: grpc.sendUnaryData<RaftSendAck>,
  ): void {
    let batches = 0;
    call.on('data', (b: RaftBatch) => {
      batches++;
      if (this.stopped || !this.handler || !this.checkOrigin(b.from, b.to)) return;
      this.links.get(b.from)?.peerAlive();
      const out: Message[] = [];
      for (const p of b.messages) {
        const m = messageFromProto(p);
        if (m && m.type !== MessageType.Snap) out.push(m);
        else this.counters.droppedMalformed++;
      }
      this.counters.batchesReceived++;
      this.counters.messagesReceived += out.length;
      if (out.length > 0) this.handler.receive(out);
    });
    call.on('end', () => cb(null, { batches }));
    call.on('error', () => undefined);
  }

  private onSnapshotCall(
    call: grpc.ServerReadableStream<RaftSnapshotChunk, RaftSnapshotAck>,
    cb: grpc.sendUnaryData<RaftSnapshotAck>,
  ): void {
    let inc: IncomingSnapshot | undefined;
    let finished = false;
    const fail = (why: string) => {
      if (finished) return;
      finished = true;
      this.counters.snapshotsReceiveFailed++;
      cb(null, { ok: false, error: why });
    };
    call.on('data', (c: RaftSnapshotChunk) => {
      if (finished) return;
      if (!inc) {
        if (!c.header) return fail('the first chunk has no header');
        if (!this.checkOrigin(c.from, c.to))
          return fail(`not accepted by '${this.self}' (unknown sender or wrong target)`);
        if (c.totalBytes > this.opts.maxSnapshotBytes) {
          return fail(`snapshot of ${c.totalBytes} bytes is over maxSnapshotBytes ${this.opts.maxSnapshotBytes}`);
        }
        inc = { header: c.header, from: c.from, buf: Buffer.allocUnsafe(c.totalBytes), filled: 0 };
      }
      if (inc.filled + c.data.length > inc.buf.length) return fail('more snapshot data than announced');
      c.data.copy(inc.buf, inc.filled);
      inc.filled += c.data.length;
      if (!c.last) return;
      if (inc.filled !== inc.buf.length) return fail(`snapshot truncated: ${inc.filled} of ${inc.buf.length} bytes`);
      const m = messageFromProto(inc.header, inc.buf);
      if (!m || m.type !== MessageType.Snap || this.stopped || !this.handler) return fail('not a snapshot message');
      finished = true;
      this.links.get(inc.from)?.peerAlive();
      this.counters.snapshotsReceived++;
      this.counters.messagesReceived++;
      this.handler.receive([m]);
      cb(null, { ok: true, error: '' });
    });
    call.on('end', () => fail('stream ended before the last chunk'));
    call.on('error', () => {
      if (!finished) {
        finished = true;
        this.counters.snapshotsReceiveFailed++;
      }
    });
  }
}
