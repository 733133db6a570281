import type { Publisher } from '@sofareg/contracts';
import { Scope } from '@sofareg/model';
import type { DeliveryProgress } from './push-state';

/** One subscriber as the session holds it, with its delivery progress (written only by PushState). */
export interface SubscriberState extends DeliveryProgress {
  readonly registerId: string;
  readonly dataInfoId: string;
  readonly connectId: string;
  readonly scope: Scope;
  readonly clientIp: string;
}

/** Registrations of one client connection. */
interface ConnectionEntry {
  readonly publishers: Set<string>;
  readonly subscribers: Set<string>;
}

/**
 * The session's registrations: the authoritative copy of its clients' publishers, and its subscribers
 * indexed by dataInfoId. Pure bookkeeping, no I/O. A registerId belongs to the connection that registered
 * it last: a client that reconnects takes its registrations over, and the close of its old connection
 * then removes nothing of them.
 */
export class SessionRegistry {
  private readonly publishers = new Map<string, Publisher>();
  private readonly subscribersById = new Map<string, SubscriberState>();
  private readonly subscribersByData = new Map<string, Map<string, SubscriberState>>();
  private readonly connections = new Map<string, ConnectionEntry>();

  get publisherCount(): number {
    return this.publishers.size;
  }
  get subscriberCount(): number {
    return this.subscribersById.size;
  }

  private conn(connectId: string): ConnectionEntry {
    let conn = this.connections.get(connectId);
    if (!conn) {
      conn = { publishers: new Set(), subscribers: new Set() };
      this.connections.set(connectId, conn);
    }
    return conn;
  }

  /** Stores a publisher (replacing any older write of its registerId). Returns the one it replaced. */
  putPublisher(p: Publisher): Publisher | undefined {
    const prev = this.publishers.get(p.registerId);
    if (prev && prev.connectId !== p.connectId) this.connections.get(prev.connectId)?.publishers.delete(p.registerId);
    this.publishers.set(p.registerId, p);
    this.conn(p.connectId).publishers.add(p.registerId);
    return prev;
  }

  getPublisher(registerId: string): Publisher | undefined {
    return this.publishers.get(registerId);
  }

  /** Removes a publisher if `connectId` owns it. */
  removePublisher(registerId: string, connectId: string): Publisher | undefined {
    const publisher = this.publishers.get(registerId);
    if (!publisher || publisher.connectId !== connectId) return undefined;
    this.publishers.delete(registerId);
    this.connections.get(connectId)?.publishers.delete(registerId);
    return publisher;
  }

  /** Every publisher this session owns, for sync and digests. */
  allPublishers(): IterableIterator<Publisher> {
    return this.publishers.values();
  }

  /** Stores a subscriber (replacing any earlier registration of its registerId), not yet pushed anything. */
  putSubscriber(
    s: Pick<SubscriberState, 'registerId' | 'dataInfoId' | 'connectId' | 'scope' | 'clientIp'>,
  ): SubscriberState {
    const prev = this.subscribersById.get(s.registerId);
    if (prev) this.removeSubscriber(prev.registerId, prev.connectId);
    const state: SubscriberState = {
      registerId: s.registerId,
      dataInfoId: s.dataInfoId,
      connectId: s.connectId,
      scope: s.scope,
      clientIp: s.clientIp,
      pushedVersion: -1,
      ackedVersion: -1,
      failures: 0,
      retryAt: 0,
      silencedUntil: 0,
    };
    this.subscribersById.set(s.registerId, state);
    let byData = this.subscribersByData.get(s.dataInfoId);
    if (!byData) {
      byData = new Map();
      this.subscribersByData.set(s.dataInfoId, byData);
    }
    byData.set(s.registerId, state);
    this.conn(s.connectId).subscribers.add(s.registerId);
    return state;
  }

  getSubscriber(registerId: string): SubscriberState | undefined {
    return this.subscribersById.get(registerId);
  }

  /** Removes a subscriber if `connectId` owns it. */
  removeSubscriber(registerId: string, connectId: string): SubscriberState | undefined {
    const subscriber = this.subscribersById.get(registerId);
    if (!subscriber || subscriber.connectId !== connectId) return undefined;
    this.unindexSubscriber(subscriber);
    this.connections.get(connectId)?.subscribers.delete(registerId);
    return subscriber;
  }

  private unindexSubscriber(s: SubscriberState): void {
    this.subscribersById.delete(s.registerId);
    const byData = this.subscribersByData.get(s.dataInfoId);
    byData?.delete(s.registerId);
    if (byData?.size === 0) this.subscribersByData.delete(s.dataInfoId);
  }

  /** Subscribers of one dataInfoId (live view; do not mutate). */
  subscribersOf(dataInfoId: string): ReadonlyMap<string, SubscriberState> | undefined {
    return this.subscribersByData.get(dataInfoId);
  }

  /** dataInfoIds with at least one subscriber. */
  subscribedDataInfoIds(): IterableIterator<string> {
    return this.subscribersByData.keys();
  }

  /** Removes everything a closed connection owns; returns its publishers (to remove at data). */
  removeConnection(connectId: string): { publishers: Publisher[]; subscribers: SubscriberState[] } {
    const conn = this.connections.get(connectId);
    this.connections.delete(connectId);
    if (!conn) return { publishers: [], subscribers: [] };
    const publishers: Publisher[] = [];
    for (const id of conn.publishers) {
      const publisher = this.publishers.get(id);
      if (publisher && publisher.connectId === connectId) {
        this.publishers.delete(id);
        publishers.push(publisher);
      }
    }
    const subscribers: SubscriberState[] = [];
    for (const id of conn.subscribers) {
      const subscriber = this.subscribersById.get(id);
      if (subscriber && subscriber.connectId === connectId) {
        this.unindexSubscriber(subscriber);
        subscribers.push(subscriber);
      }
    }
    return { publishers, subscribers };
  }

  /**
   * Removes the publishers a connection owns, keeping its subscribers (a client-off of its IP). Returns them,
   * to remove at data.
   */
  removePublishersOf(connectId: string): Publisher[] {
    const conn = this.connections.get(connectId);
    if (!conn) return [];
    const out: Publisher[] = [];
    for (const id of conn.publishers) {
      const publisher = this.publishers.get(id);
      if (publisher && publisher.connectId === connectId) {
        this.publishers.delete(id);
        out.push(publisher);
      }
    }
    conn.publishers.clear();
    return out;
  }

  /** Counts per connection, for the admin API. */
  connectionCounts(connectId: string): { publishers: number; subscribers: number } {
    const conn = this.connections.get(connectId);
    return { publishers: conn?.publishers.size ?? 0, subscribers: conn?.subscribers.size ?? 0 };
  }
}
