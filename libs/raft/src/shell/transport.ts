import type { Message, NodeId } from '../core';

/** What a transport delivers to its Raft node. Called on the event loop, never re-entrantly. */
export interface TransportHandler {
  /**
   * Messages received from one peer, in the order it sent them, already checked to come from a known peer
   * and to be addressed to this node. A Snap message arrives with its whole snapshot.
   */
  receive(messages: Message[]): void;
  /** Whether a Snap message sent to `to` was delivered whole (`ok`) or failed; the node reports it to Raft. */
  snapshotStatus(to: NodeId, ok: boolean): void;
}

/** Counters of a transport, monotonic since start (reported in `RaftNode.status().transport`). */
export interface TransportStats {
  /** Messages handed to the wire, and the batches they went in. */
  messagesSent: number;
  batchesSent: number;
  /** Messages and batches received and delivered to the node. */
  messagesReceived: number;
  batchesReceived: number;
  /** Messages dropped because the peer's send queue was full (Raft retransmits what matters). */
  droppedQueueFull: number;
  /** Messages dropped because the peer is unreachable (connection down, waiting to retry). */
  droppedPeerDown: number;
  /** Messages to a node whose address is unknown. */
  droppedNoAddress: number;
  /** Batches received from a node that is not a known peer (ignored). */
  droppedUnknownPeer: number;
  /** Batches received that were addressed to another node id (ignored). */
  droppedWrongTarget: number;
  /** Received messages that could not be decoded (ignored). */
  droppedMalformed: number;
  /** Streams to peers that failed (each is reopened on the next send, after a backoff). */
  streamErrors: number;
  /** Snapshots sent whole, sends that failed, snapshots received whole, receptions that failed. */
  snapshotsSent: number;
  snapshotsSendFailed: number;
  snapshotsReceived: number;
  snapshotsReceiveFailed: number;
}

/** A zeroed {@link TransportStats}. */
export function emptyTransportStats(): TransportStats {
  return {
    messagesSent: 0,
    batchesSent: 0,
    messagesReceived: 0,
    batchesReceived: 0,
    droppedQueueFull: 0,
    droppedPeerDown: 0,
    droppedNoAddress: 0,
    droppedUnknownPeer: 0,
    droppedWrongTarget: 0,
    droppedMalformed: 0,
    streamErrors: 0,
    snapshotsSent: 0,
    snapshotsSendFailed: 0,
    snapshotsReceived: 0,
    snapshotsReceiveFailed: 0,
  };
}

/**
 * Carries Raft messages between the nodes of one group (hashicorp/raft's Transport). Best effort: a message
 * may be lost, but messages from one node to another are never reordered. `send` never blocks: each peer
 * has a bounded queue and what does not fit is dropped and counted.
 *
 * Lifecycle: `setPeer` for every known member (the node does it before `start`), `start` once, then `send`,
 * `setPeer`/`removePeer` as membership changes, and `stop` once.
 */
export interface RaftTransport {
  /** Starts listening as node `self` and delivering to `handler`. Rejects when the address cannot be bound. */
  start(self: NodeId, handler: TransportHandler): Promise<void>;
  /** Adds or updates where node `id` listens (`host:port`). Messages from unknown ids are ignored. */
  setPeer(id: NodeId, address: string): void;
  /** Forgets node `id` (after it left the group) and closes its connection. */
  removePeer(id: NodeId): void;
  /** The address book (including this node). */
  peers(): Record<NodeId, string>;
  /** Queues messages for their destinations (`m.to`), in order. Snap messages are sent in chunks. */
  send(messages: readonly Message[]): void;
  stats(): TransportStats;
  /** Stops listening and closes every connection; queued messages are dropped. Idempotent. */
  stop(): Promise<void>;
}
