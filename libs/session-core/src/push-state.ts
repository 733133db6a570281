import type { PublishedData } from '@sofareg/model';
import { ContentSince, PlannedPush, planPushes } from './push-plan';
import {
  DeliveryHealth,
  PushRetryPolicy,
  breakerOpened,
  deliveryGate,
  readyAt,
  recordFailure,
  recordSuccess,
} from './push-retry';
import type { SubscriberState } from './session-registry';

/**
 * A subscriber's delivery progress. Kept on the subscriber's record (see SessionRegistry), written only by
 * {@link PushState}.
 */
export interface DeliveryProgress extends DeliveryHealth {
  /**
   * Highest datum version sent to it and not failed: in flight or acknowledged (-1: none yet). Never pushed
   * anything not above this; set back to `ackedVersion` when a push fails, so that it is sent again.
   */
  pushedVersion: number;
  /** Highest datum version it acknowledged (-1: none yet): the version it is known to hold. */
  ackedVersion: number;
}

/** A push awaiting its acknowledgement. */
export interface InFlightPush {
  readonly connectId: string;
  readonly dataInfoId: string;
  readonly registerIds: readonly string[];
  readonly version: number;
  readonly sentAt: number;
}

/** A push that timed out, with what it did to its subscribers. */
export interface ExpiredPush {
  readonly dataInfoId: string;
  readonly connectId: string;
  /** Subscribers it failed (those for which it was still the latest push). */
  readonly failed: number;
  /** Subscribers this failure silenced (the breaker opened), with their failures in a row. */
  readonly silenced: readonly { registerId: string; failures: number }[];
}

/** What to push of one datum, and why others were not pushed. */
export interface DatumPushPlan {
  readonly pushes: PlannedPush[];
  /** Subscribers the switches hold (stop-push, outside gray-open). */
  readonly held: number;
  /** Subscribers that hold (or are being sent) exactly the addresses this version shows. */
  readonly unchanged: number;
}

/**
 * Each subscriber's delivery progress (pushed, acknowledged, failures in a row, retry time, silenced-until),
 * the pushes in flight and the retries due. Pure: time is passed in; nothing is sent here; the caller sends
 * what {@link plan} returns and reports each push sent with {@link sent}. States in the README.
 *
 * Ordering: pushes are tracked in send order and share one acknowledgement timeout, so {@link expire} stops at
 * the first push still in time. Only the latest push to a subscriber counts: one overtaken by a newer push
 * neither acknowledges nor fails it.
 */
export class PushState {
  private seq = 0;
  private readonly inFlight = new Map<number, InFlightPush>();
  /** dataInfoId → when a subscriber of it in backoff or silenced is due its retry. */
  private readonly retryDue = new Map<string, number>();
  /** The highest datum version sent to any subscriber of each dataInfoId. */
  private readonly maxSent = new Map<string, number>();

  /** @param subscriber looks a subscriber up by registerId (the registry's current record). */
  constructor(
    private readonly policy: PushRetryPolicy,
    private readonly subscriber: (registerId: string) => SubscriberState | undefined,
  ) {}

  /** Pushes awaiting acknowledgement. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * The highest version of a dataInfoId sent to any subscriber here, acknowledged or not (-1: none): a client
   * may hold it. Unlike a subscriber's `pushedVersion`, which a failed push sets back, this never goes down
   * until {@link forget}.
   */
  sentVersion(dataInfoId: string): number {
    return this.maxSent.get(dataInfoId) ?? -1;
  }

  /** The dataInfoId's last subscriber left: what was sent of it is no longer held by anyone here. */
  forget(dataInfoId: string): void {
    this.maxSent.delete(dataInfoId);
  }

  /**
   * What to push of a datum at `version` to `subscribers`: those behind it, not holding its addresses already
   * (`since`), let through by `mayPush` (the switches), and not in backoff nor silenced at `now`. A subscriber
   * left out for its backoff or breaker makes the dataInfoId due a retry when its gate opens.
   */
  plan(
    dataInfoId: string,
    publishers: readonly PublishedData[],
    version: number,
    subscribers: Iterable<SubscriberState>,
    since: ContentSince | undefined,
    mayPush: (clientIp: string) => boolean,
    localZone: string,
    now: number,
  ): DatumPushPlan {
    let held = 0;
    let unchanged = 0;
    let gatedUntil = Infinity;
    const eligible = (s: SubscriberState): boolean => {
      const view = s.scope === 'zone' ? since?.zone : since?.all;
      if (view && view.version <= version && (s.ackedVersion >= view.version || s.pushedVersion >= view.version)) {
        unchanged++;
        return false; // it holds (or is being sent) exactly what this version shows
      }
      if (!mayPush(s.clientIp)) {
        held++;
        return false;
      }
      if (s.failures === 0 || deliveryGate(s, now) === 'ready') return true;
      gatedUntil = Math.min(gatedUntil, readyAt(s));
      return false;
    };
    const pushes = planPushes(subscribers, publishers, version, localZone, eligible);
    if (gatedUntil < Infinity) this.retryAt(dataInfoId, gatedUntil);
    return { pushes, held, unchanged };
  }

  /** A new push id (one increasing sequence per session), for a push about to be sent. */
  takePushId(): number {
    return ++this.seq;
  }

  /** Push `pushId` (from {@link takePushId}) was queued for its connection: its subscribers count it as in flight. */
  sent(
    pushId: number,
    connectId: string,
    dataInfoId: string,
    registerIds: readonly string[],
    version: number,
    now: number,
  ): void {
    this.inFlight.set(pushId, { connectId, dataInfoId, registerIds, version, sentAt: now });
    if ((this.maxSent.get(dataInfoId) ?? -1) < version) this.maxSent.set(dataInfoId, version);
    for (const id of registerIds) {
      const sub = this.subscriber(id);
      if (sub && sub.pushedVersion < version) sub.pushedVersion = version;
    }
  }

  /**
   * A client acknowledged push `pushId` on connection `connectId`: its subscribers hold its version and are
   * healthy again. Returns the push, or undefined when unknown, expired or acknowledged on another connection
   * (push ids are one sequence per session, so only the connection it went to can acknowledge it).
   */
  acked(pushId: number, connectId: string): InFlightPush | undefined {
    const push = this.inFlight.get(pushId);
    if (!push || push.connectId !== connectId) return undefined;
    this.inFlight.delete(pushId);
    for (const id of push.registerIds) {
      const sub = this.subscriber(id);
      if (!sub || sub.connectId !== push.connectId) continue;
      if (sub.ackedVersion < push.version) sub.ackedVersion = push.version;
      if (sub.failures > 0) Object.assign(sub, recordSuccess());
    }
    return push;
  }

  /**
   * Fails every push not acknowledged within the policy's timeout at `now`: each subscriber for which it was the
   * latest push is set back to what it acknowledged, counts one more failure (maybe opening the breaker), and
   * its dataInfoId is due a retry when its backoff ends.
   */
  expire(now: number): ExpiredPush[] {
    const out: ExpiredPush[] = [];
    for (const [pushId, push] of this.inFlight) {
      if (now - push.sentAt < this.policy.ackTimeoutMs) break;
      this.inFlight.delete(pushId);
      let failed = 0;
      let retryAt = Infinity;
      const silenced: { registerId: string; failures: number }[] = [];
      for (const id of push.registerIds) {
        const sub = this.subscriber(id);
        const awaiting = sub && sub.connectId === push.connectId && sub.ackedVersion < push.version;
        if (!awaiting || sub.pushedVersion !== push.version) continue;
        sub.pushedVersion = sub.ackedVersion;
        const before = { failures: sub.failures, retryAt: sub.retryAt, silencedUntil: sub.silencedUntil };
        const after = recordFailure(before, now, this.policy);
        Object.assign(sub, after);
        failed++;
        if (breakerOpened(before, after)) silenced.push({ registerId: id, failures: after.failures });
        retryAt = Math.min(retryAt, after.retryAt);
      }
      if (failed === 0) continue;
      this.retryAt(push.dataInfoId, retryAt);
      out.push({ dataInfoId: push.dataInfoId, connectId: push.connectId, failed, silenced });
    }
    return out;
  }

  /** Makes `dataInfoId` due a retry at `at` (or earlier, if it already was). */
  retryAt(dataInfoId: string, at: number): void {
    const due = this.retryDue.get(dataInfoId);
    if (due === undefined || at < due) this.retryDue.set(dataInfoId, at);
  }

  /** The dataInfoIds whose retry is due at `now`; each is returned once. */
  takeDueRetries(now: number): string[] {
    const out: string[] = [];
    for (const [id, dueAt] of this.retryDue) {
      if (dueAt > now) continue;
      this.retryDue.delete(id);
      out.push(id);
    }
    return out;
  }

  /** Subscribers among `subscribers` silenced by the breaker at `now`. */
  static silenced(subscribers: Iterable<DeliveryHealth>, now: number): number {
    let n = 0;
    for (const s of subscribers) if (s.silencedUntil > now) n++;
    return n;
  }
}
