import { trackContent } from './push-plan';
import type { PushRetryPolicy } from './push-retry';
import { PushState } from './push-state';
import { SessionRegistry, SubscriberState } from './session-registry';

const policy: PushRetryPolicy = {
  ackTimeoutMs: 1_000,
  initialBackoffMs: 100,
  maxBackoffMs: 400,
  breakerFailures: 3,
  breakerOpenMs: 10_000,
};
const pubs = (...addresses: string[]) =>
  addresses.map((a, i) => ({ zone: 'z', dataList: [a], registerTimestamp: i, registerId: a }));
const all = () => true;

function setup() {
  const registry = new SessionRegistry();
  const state = new PushState(policy, (id) => registry.getSubscriber(id));
  const sub = (registerId: string, connectId = 'c1', clientIp = '10.0.0.1') =>
    registry.putSubscriber({ registerId, dataInfoId: 'd', connectId, scope: 'zone', clientIp });
  const subs = () => registry.subscribersOf('d')?.values() ?? [];
  /** Plans version `v` and sends every planned push at `now`; returns the push ids. */
  const pushAll = (v: number, now: number, addresses = ['a']) =>
    state.plan('d', pubs(...addresses), v, subs(), undefined, all, 'z', now).pushes.map((p) => {
      const pushId = state.takePushId();
      state.sent(pushId, p.connectId, 'd', p.registerIds, v, now);
      return pushId;
    });
  return { registry, state, sub, subs, pushAll };
}

describe('PushState', () => {
  it('counts a sent push as in flight for its subscribers, and its acknowledgement as held', () => {
    const { state, sub, pushAll } = setup();
    const s = sub('s1');
    const [pushId] = pushAll(5, 0);
    expect(s).toMatchObject({ pushedVersion: 5, ackedVersion: -1 });
    expect(state.inFlightCount).toBe(1);
    expect(state.acked(pushId, 'c1')?.version).toBe(5);
    expect(s).toMatchObject({ pushedVersion: 5, ackedVersion: 5 });
    expect(state.inFlightCount).toBe(0);
    // Nothing more to push of that version.
    expect(pushAll(5, 10)).toEqual([]);
  });

  it('takes an acknowledgement only from the connection the push went to', () => {
    const { state, sub, pushAll } = setup();
    const s = sub('s1');
    const [pushId] = pushAll(1, 0);
    expect(state.acked(pushId, 'other')).toBeUndefined();
    expect(s.ackedVersion).toBe(-1);
    expect(state.acked(pushId + 1, 'c1')).toBeUndefined();
  });

  it('fails a push not acknowledged in time: the subscriber is set back, backs off, then is due a retry', () => {
    const { state, sub, pushAll } = setup();
    const s = sub('s1');
    pushAll(1, 0);
    expect(state.expire(999)).toEqual([]);
    expect(state.expire(1_000)).toEqual([{ dataInfoId: 'd', connectId: 'c1', failed: 1, silenced: [] }]);
    expect(s).toMatchObject({ pushedVersion: -1, failures: 1, retryAt: 1_100 });
    // In backoff: planned for nobody, but due a retry when the backoff ends.
    expect(pushAll(1, 1_050)).toEqual([]);
    expect(state.takeDueRetries(1_099)).toEqual([]);
    expect(state.takeDueRetries(1_100)).toEqual(['d']);
    expect(state.takeDueRetries(1_100)).toEqual([]);
    expect(pushAll(1, 1_100)).toHaveLength(1);
  });

  it('silences a subscriber after breakerFailures failures in a row, and an ack makes it healthy again', () => {
    const { state, sub, pushAll } = setup();
    const s = sub('s1');
    let now = 0;
    const silenced: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      pushAll(1, now);
      now += policy.ackTimeoutMs;
      for (const e of state.expire(now)) silenced.push(...e.silenced);
      now = Math.max(now, s.retryAt);
    }
    expect(silenced).toEqual([{ registerId: 's1', failures: 3 }]);
    // Failures at 1 000, 2 100 (after a 100 ms backoff) and 3 300 (after 200 ms): the third silences it.
    expect(s.silencedUntil).toBe(3_300 + policy.breakerOpenMs);
    expect(pushAll(1, s.silencedUntil - 1)).toEqual([]);
    const [pushId] = pushAll(1, s.silencedUntil);
    state.acked(pushId, 'c1');
    expect(s).toMatchObject({ failures: 0, retryAt: 0, silencedUntil: 0, ackedVersion: 1 });
  });

  it('does not fail a subscriber for a push a newer one overtook', () => {
    const { state, sub, pushAll } = setup();
    const s = sub('s1');
    pushAll(1, 0);
    pushAll(2, 500);
    expect(state.expire(1_000)).toEqual([]);
    expect(s).toMatchObject({ pushedVersion: 2, failures: 0 });
  });

  it('does not fail a subscriber re-registered on another connection', () => {
    const { state, sub, pushAll } = setup();
    sub('s1', 'c1');
    pushAll(1, 0);
    const again = sub('s1', 'c2');
    expect(state.expire(1_000)).toEqual([]);
    expect(again.failures).toBe(0);
  });

  it('holds back subscribers the switches hold, and skips those already holding the same addresses', () => {
    const { state, sub, subs } = setup();
    sub('s1', 'c1', '10.0.0.1');
    const s2 = sub('s2', 'c2', '10.0.0.2');
    const only1 = (ip: string) => ip === '10.0.0.1';
    const plan = state.plan('d', pubs('a'), 1, subs(), undefined, only1, 'z', 0);
    expect(plan.pushes.map((p) => p.registerIds)).toEqual([['s1']]);
    expect(plan.held).toBe(1);
    // s2 acknowledged v1; v2 shows the same addresses (content unchanged since v1): not pushed again.
    s2.ackedVersion = 1;
    const since = trackContent(undefined, pubs('a'), 1, subs(), 'z');
    expect(trackContent(since, pubs('a'), 2, subs(), 'z')).toEqual({ zone: { version: 1, key: expect.any(String) } });
    const next = state.plan('d', pubs('a'), 2, [s2], since, all, 'z', 0);
    expect(next).toMatchObject({ pushes: [], unchanged: 1, held: 0 });
    // New addresses are pushed.
    const changed = trackContent(since, pubs('a', 'b'), 3, subs(), 'z');
    expect(state.plan('d', pubs('a', 'b'), 3, [s2], changed, all, 'z', 0).pushes).toHaveLength(1);
  });

  it('remembers the highest version sent of a dataInfoId even after a failed push, until forgotten', () => {
    const { state, sub, pushAll } = setup();
    sub('s1');
    expect(state.sentVersion('d')).toBe(-1);
    pushAll(3, 0);
    state.expire(1_000);
    expect(state.sentVersion('d')).toBe(3);
    state.forget('d');
    expect(state.sentVersion('d')).toBe(-1);
  });

  it('counts silenced subscribers', () => {
    const s = (silencedUntil: number) => ({ failures: 3, retryAt: silencedUntil, silencedUntil }) as SubscriberState;
    expect(PushState.silenced([s(5), s(10), s(0)], 5)).toBe(1);
  });
});
