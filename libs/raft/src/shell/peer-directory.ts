import { ConfChangeType, type Entry, EntryType, type NodeId, decodeConfChange } from '../core';
import type { PeerAddresses } from './peers';

/** The part of the transport that learns where peers listen. */
export interface PeerSink {
  setPeer(id: NodeId, address: string): void;
  removePeer(id: NodeId): void;
}

const dec = new TextDecoder();

/**
 * Where the members of the group listen, as this node knows it: the configured peers, the addresses carried by
 * membership-change entries (learned as soon as they are appended, so the new member can be reached before the
 * change commits), and those of a snapshot's envelope. Every change is told to the transport.
 */
export class PeerDirectory {
  private readonly byId = new Map<NodeId, string>();

  constructor(
    private readonly configured: PeerAddresses,
    private readonly transport: PeerSink,
  ) {
    for (const [id, addr] of Object.entries(configured)) this.byId.set(id, addr);
  }

  /** The address of `id`, or '' when unknown. */
  addressOf(id: NodeId): string {
    return this.byId.get(id) ?? '';
  }

  has(id: NodeId): boolean {
    return this.byId.has(id);
  }

  /** Every known address, by node id (a copy). */
  all(): Record<NodeId, string> {
    return Object.fromEntries(this.byId);
  }

  /**
   * At start, before the transport runs: adds the addresses saved in the snapshot for the nodes the
   * configuration does not name (the configuration wins), without telling the transport yet.
   */
  restore(saved: Readonly<Record<NodeId, string>>): void {
    for (const [id, addr] of Object.entries(saved)) if (!(id in this.configured)) this.byId.set(id, addr);
  }

  /** Tells the transport every known address (at start). */
  announceAll(): void {
    for (const [id, addr] of this.byId) this.transport.setPeer(id, addr);
  }

  /** Takes the addresses of an installed snapshot: each changed one is told to the transport. */
  merge(addresses: Readonly<Record<NodeId, string>>): void {
    for (const [id, addr] of Object.entries(addresses)) this.set(id, addr);
  }

  /** Records the address a membership-change entry carries (entries of other kinds, or without one, are ignored). */
  learnFrom(e: Entry): void {
    if (e.type !== EntryType.ConfChange) return;
    let cc;
    try {
      cc = decodeConfChange(e.data);
    } catch {
      return;
    }
    if (cc.type === ConfChangeType.RemoveNode || !cc.context || cc.context.length === 0) return;
    this.set(cc.nodeId, dec.decode(cc.context));
  }

  /** Forgets a removed member. */
  forget(id: NodeId): void {
    this.byId.delete(id);
    this.transport.removePeer(id);
  }

  private set(id: NodeId, addr: string): void {
    if (this.byId.get(id) === addr) return;
    this.byId.set(id, addr);
    this.transport.setPeer(id, addr);
  }
}
