import { RaftBatch } from '@sofareg/contracts';
import { type Message, MessageType, type NodeId } from '../core';
import { messageFromProto, messageToProto } from './proto-codec';
import { type RaftTransport, type TransportHandler, type TransportStats, emptyTransportStats } from './transport';

/**
 * An in-process network of {@link LocalTransport}s: the in-memory twin of the gRPC transport, for tests of
 * the shell without sockets. Messages go through the same protobuf encoding as on the wire and arrive on a
 * later event-loop turn, in order per pair of nodes. Links can be cut to simulate partitions and crashes.
 */
export class LocalNetwork {
  private readonly nodes = new Map<NodeId, LocalTransport>();
  private readonly cut = new Set<string>();

  /** A transport for node `id` on this network (registered when it starts). */
  transport(): LocalTransport {
    return new LocalTransport(this);
  }

  /** Drops every message between `a` and `b`, both ways, until {@link heal}. */
  disconnect(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}\u0000${b}`);
    this.cut.add(`${b}\u0000${a}`);
  }

  /** Cuts `id` from every other node. */
  isolate(id: NodeId, others: readonly NodeId[]): void {
    for (const o of others) if (o !== id) this.disconnect(id, o);
  }

  /** Restores every link. */
  heal(): void {
    this.cut.clear();
  }

  /** @internal */
  register(id: NodeId, t: LocalTransport): void {
    this.nodes.set(id, t);
  }

  /** @internal */
  unregister(id: NodeId, t: LocalTransport): void {
    if (this.nodes.get(id) === t) this.nodes.delete(id);
  }

  /** @internal Delivers encoded batches; returns false when the destination is unreachable. */
  deliver(from: NodeId, to: NodeId, bytes: Uint8Array, snapshot: boolean): boolean {
    if (this.cut.has(`${from}\u0000${to}`)) return false;
    const dst = this.nodes.get(to);
    if (!dst) return false;
    setImmediate(() => dst.onBatch(bytes, snapshot));
    return true;
  }
}

/** One node's endpoint on a {@link LocalNetwork}. */
export class LocalTransport implements RaftTransport {
  private self: NodeId = '';
  private handler: TransportHandler | undefined;
  private readonly book = new Map<NodeId, string>();
  private readonly counters: TransportStats = emptyTransportStats();
  private stopped = false;

  constructor(private readonly net: LocalNetwork) {}

  async start(self: NodeId, handler: TransportHandler): Promise<void> {
    this.self = self;
    this.handler = handler;
    this.net.register(self, this);
  }

  setPeer(id: NodeId, address: string): void {
    this.book.set(id, address);
  }

  removePeer(id: NodeId): void {
    this.book.delete(id);
  }

  peers(): Record<NodeId, string> {
    return Object.fromEntries(this.book);
  }

  send(messages: readonly Message[]): void {
    if (this.stopped) return;
    const byPeer = new Map<NodeId, Message[]>();
    for (const m of messages) {
      if (!this.book.has(m.to)) {
        this.counters.droppedNoAddress++;
        continue;
      }
      if (m.type === MessageType.Snap) {
        this.sendSnapshot(m);
        continue;
      }
      let q = byPeer.get(m.to);
      if (!q) byPeer.set(m.to, (q = []));
      q.push(m);
    }
    for (const [to, ms] of byPeer) {
      const bytes = RaftBatch.encode({ from: this.self, to, messages: ms.map(messageToProto) }).finish();
      if (this.net.deliver(this.self, to, bytes, false)) {
        this.counters.batchesSent++;
        this.counters.messagesSent += ms.length;
      } else {
        this.counters.droppedPeerDown += ms.length;
      }
    }
  }

  private sendSnapshot(m: Message): void {
    const to = m.to;
    const bytes = encodeSnapshotMessage(this.self, m);
    const ok = this.net.deliver(this.self, to, bytes, true);
    if (ok) this.counters.snapshotsSent++;
    else this.counters.snapshotsSendFailed++;
    setImmediate(() => {
      if (!this.stopped) this.handler?.snapshotStatus(to, ok);
    });
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.net.unregister(this.self, this);
  }

  /** @internal */
  onBatch(bytes: Uint8Array, snapshot: boolean): void {
    if (this.stopped || !this.handler) return;
    const batch = snapshot ? decodeSnapshotMessage(bytes) : RaftBatch.decode(bytes);
    if (batch.to !== this.self) {
      this.counters.droppedWrongTarget++;
      return;
    }
    if (!this.book.has(batch.from)) {
      this.counters.droppedUnknownPeer++;
      return;
    }
    const out: Message[] = [];
    for (const p of batch.messages) {
      const m = messageFromProto(p, snapshot ? (batch as SnapshotBatch).snapshotData : undefined);
      if (m) out.push(m);
      else this.counters.droppedMalformed++;
    }
    this.counters.batchesReceived++;
    this.counters.messagesReceived += out.length;
    if (snapshot) this.counters.snapshotsReceived++;
    if (out.length > 0) this.handler.receive(out);
  }
}

/** A snapshot travels as a batch of one message followed by its data (length-prefixed), in one piece. */
function encodeSnapshotMessage(from: NodeId, m: Message): Uint8Array {
  const head = RaftBatch.encode({ from, to: m.to, messages: [messageToProto(m)] }).finish();
  const data = m.snapshot?.data ?? new Uint8Array(0);
  const out = new Uint8Array(4 + head.length + data.length);
  new DataView(out.buffer).setUint32(0, head.length);
  out.set(head, 4);
  out.set(data, 4 + head.length);
  return out;
}

type SnapshotBatch = RaftBatch & { snapshotData: Uint8Array };

function decodeSnapshotMessage(b: Uint8Array): SnapshotBatch {
  const n = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
  const batch = RaftBatch.decode(b.subarray(4, 4 + n));
  return { ...batch, snapshotData: b.slice(4 + n) };
}
