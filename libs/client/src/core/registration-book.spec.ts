import type { ClientMessage } from '@sofareg/contracts';
import { ErrorCode } from '@sofareg/model';
import {
  ConfiguratorRecord,
  PublisherRecord,
  RegistrationBook,
  SubscriberRecord,
  toErrorValue,
} from './registration-book';

const pub = (id: string, dataList: string[] = [`${id}:1`]): PublisherRecord => ({
  kind: 'publisher',
  registerId: id,
  dataId: `svc-${id}`,
  instanceId: 'DEFAULT_INSTANCE_ID',
  group: 'DEFAULT_GROUP',
  dataInfoId: `svc-${id}#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP`,
  appName: 'app',
  dataList,
  version: 1,
  ackedVersion: 0,
  announced: false,
  acked: false,
});
const sub = (id: string): SubscriberRecord => ({
  kind: 'subscriber',
  registerId: id,
  dataId: 'svc',
  instanceId: 'DEFAULT_INSTANCE_ID',
  group: 'DEFAULT_GROUP',
  dataInfoId: 'svc#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP',
  scope: 'zone',
  appName: 'app',
  announced: false,
  acked: false,
  heldVersion: undefined,
  data: undefined,
});
const cfg = (id: string): ConfiguratorRecord => ({
  kind: 'configurator',
  registerId: id,
  key: 'switch',
  announced: false,
  acked: false,
  heldVersion: undefined,
  value: undefined,
  exists: false,
});

/** `case:registerId[@version]` of each message, for order assertions. */
const show = (ms: ClientMessage[]) =>
  ms.map((m) => {
    const b = m.body;
    if (!b) return 'empty';
    if (b.$case === 'publish') return `publish:${b.value.registerId}@${b.value.version}`;
    if ('registerId' in b.value) return `${b.$case}:${b.value.registerId}`;
    return b.$case;
  });

const requestIdOf = (m: ClientMessage): number => (m.body && 'requestId' in m.body.value ? m.body.value.requestId : -1);

describe('RegistrationBook', () => {
  it('sends at once when connected, queues while not', () => {
    const book = new RegistrationBook(10, 'Z');
    expect(book.add(pub('a'))).toEqual({ ok: true, messages: [] });
    expect(book.queued).toBe(1);
    expect(show(book.onConnected())).toEqual(['publish:a@1']);
    const added = book.add(sub('b'));
    expect(added.ok && show(added.messages)).toEqual(['subscribe:b']);
  });

  it('replays every announced registration at its current state before what was created offline', () => {
    const book = new RegistrationBook(10, 'Z');
    book.onConnected();
    book.add(pub('p1'));
    book.add(sub('s1'));
    book.add(cfg('c1'));
    book.add(pub('p2'));
    book.onDisconnected();
    // Offline: a new publisher, a republish of p1, an unregister of p2, a new subscriber.
    book.add(pub('p3'));
    expect(book.republish('p1', ['p1:2'])).toEqual([]);
    expect(book.remove('p2')).toEqual({ messages: [], local: true });
    book.add(sub('s2'));
    expect(show(book.onConnected())).toEqual([
      'publish:p1@2',
      'subscribe:s1',
      'watchConfig:c1',
      'publish:p3@1',
      'subscribe:s2',
    ]);
    // And again on the next reconnection: everything is announced now, in creation order.
    book.onDisconnected();
    expect(show(book.onConnected())).toEqual([
      'publish:p1@2',
      'subscribe:s1',
      'watchConfig:c1',
      'publish:p3@1',
      'subscribe:s2',
    ]);
  });

  it('bounds the offline queue and refuses with Overloaded when full', () => {
    const book = new RegistrationBook(2, 'Z');
    expect(book.add(pub('a')).ok).toBe(true);
    expect(book.add(pub('b')).ok).toBe(true);
    const full = book.add(pub('c'));
    expect(full.ok).toBe(false);
    expect(!full.ok && full.error.code).toBe(ErrorCode.Overloaded);
    expect(!full.ok && full.error.message).toMatch(/offline queue full: 2 .*offlineQueueSize 2/);
    expect(book.get('c')).toBeUndefined();
    // Republishing a queued record does not take another slot; removing one frees its slot.
    book.republish('a', ['x']);
    expect(book.queued).toBe(2);
    book.remove('b');
    expect(book.add(pub('c')).ok).toBe(true);
    expect(show(book.onConnected())).toEqual(['publish:a@2', 'publish:c@1']);
    expect(book.queued).toBe(0);
  });

  it('acknowledges publisher versions monotonically and ignores unknown or stale answers', () => {
    const book = new RegistrationBook(10, 'Z');
    book.onConnected();
    const [first] = (book.add(pub('a')) as { messages: ClientMessage[] }).messages;
    const [second] = book.republish('a', ['a:2']);
    expect(
      book.onResult({ requestId: requestIdOf(second), registerId: 'a', ok: true, version: 2, error: undefined }),
    ).toMatchObject({
      type: 'registered',
      ackedVersion: 2,
    });
    // The late answer to version 1 does not move the acknowledged version back.
    expect(
      book.onResult({ requestId: requestIdOf(first), registerId: 'a', ok: true, version: 1, error: undefined }),
    ).toMatchObject({
      type: 'registered',
      ackedVersion: 2,
    });
    expect(book.onResult({ requestId: 999, registerId: 'a', ok: true, version: 3, error: undefined })).toEqual({
      type: 'ignored',
    });
    // Answers to requests of a previous connection are ignored.
    const [third] = book.republish('a', ['a:3']);
    book.onDisconnected();
    expect(
      book.onResult({ requestId: requestIdOf(third), registerId: 'a', ok: true, version: 3, error: undefined }),
    ).toEqual({ type: 'ignored' });
  });

  it('retries a version refused for now only when no newer request of that registration is in flight', () => {
    const book = new RegistrationBook(10, 'Z');
    book.onConnected();
    const [v1] = (book.add(pub('a')) as { messages: ClientMessage[] }).messages;
    const [v2] = book.republish('a', ['a:2']);
    const [v3] = book.republish('a', ['a:3']);
    const busy = { code: ErrorCode.Unavailable, message: 'busy', field: '', leader: '' };
    // v3 answered first; v2 is still in flight, so the refusal of v1 is not the last word.
    expect(
      book.onResult({ requestId: requestIdOf(v3), registerId: 'a', ok: true, version: 3, error: undefined }),
    ).toMatchObject({ type: 'registered' });
    expect(book.onResult({ requestId: requestIdOf(v1), registerId: 'a', ok: false, version: 0, error: busy })).toEqual({
      type: 'ignored',
    });
    // v2 is the last in flight: its refusal asks for a retry.
    expect(
      book.onResult({ requestId: requestIdOf(v2), registerId: 'a', ok: false, version: 0, error: busy }),
    ).toMatchObject({ type: 'retry' });
  });

  it('drops a registration refused for good, keeps one refused for now', () => {
    const book = new RegistrationBook(10, 'Z');
    book.onConnected();
    const [m1] = (book.add(pub('a')) as { messages: ClientMessage[] }).messages;
    const [m2] = (book.add(pub('b')) as { messages: ClientMessage[] }).messages;
    const refusal = { code: 'InvalidArgument', message: 'dataList too big', field: 'dataList', leader: '' };
    expect(
      book.onResult({ requestId: requestIdOf(m1), registerId: 'a', ok: false, version: 0, error: refusal }),
    ).toMatchObject({
      type: 'rejected',
      error: { code: 'InvalidArgument', field: 'dataList', message: 'dataList too big' },
    });
    expect(book.get('a')).toBeUndefined();
    const busy = { code: 'Overloaded', message: 'slow down', field: '', leader: '' };
    expect(
      book.onResult({ requestId: requestIdOf(m2), registerId: 'b', ok: false, version: 0, error: busy }),
    ).toMatchObject({ type: 'retry' });
    expect(book.get('b')).toBeDefined();
    expect(show(book.resend('b'))).toEqual(['publish:b@1']);
  });

  it('delivers a push only to subscribers holding an older version, and converts the payload', () => {
    const book = new RegistrationBook(10, 'Z');
    book.onConnected();
    book.add(sub('s1'));
    book.add(sub('s2'));
    const push = (version: number, ids: string[]) =>
      book.onPush({
        pushId: 1,
        dataInfoId: 'svc',
        registerIds: ids,
        data: { zoneData: { Z: { dataList: ['x:1'] } }, localZone: '', version },
      });
    const first = push(0, ['s1']);
    expect(first.deliveries.map((r) => r.registerId)).toEqual(['s1']);
    expect(book.get('s1')).toMatchObject({
      heldVersion: 0,
      data: { zoneData: { Z: ['x:1'] }, localZone: 'Z', version: 0 },
    });
    const second = push(5, ['s1', 's2', 'gone']);
    expect(second.deliveries.map((r) => r.registerId)).toEqual(['s1', 's2']);
    expect(second.unknown).toBe(1);
    // Same or older version: dropped, data untouched.
    const again = push(5, ['s1', 's2']);
    expect(again).toMatchObject({ deliveries: [], dropped: 2 });
    expect(push(4, ['s1']).dropped).toBe(1);
    expect((book.get('s1') as SubscriberRecord).data?.version).toBe(5);
  });

  it('keeps the held version across reconnects, so a replayed first push of the same version is dropped', () => {
    const book = new RegistrationBook(10, 'Z');
    book.onConnected();
    book.add(sub('s1'));
    book.onPush({
      pushId: 1,
      dataInfoId: 'svc',
      registerIds: ['s1'],
      data: { zoneData: {}, localZone: 'Z', version: 7 },
    });
    book.onDisconnected();
    book.onConnected();
    expect(
      book.onPush({
        pushId: 1,
        dataInfoId: 'svc',
        registerIds: ['s1'],
        data: { zoneData: {}, localZone: 'Z', version: 7 },
      }).dropped,
    ).toBe(1);
  });

  it('applies config pushes with the same version rule', () => {
    const book = new RegistrationBook(10, 'Z');
    book.onConnected();
    book.add(cfg('c1'));
    expect(
      book.onConfig({ registerIds: ['c1'], key: 'switch', value: '', version: 0, exists: false }).deliveries,
    ).toHaveLength(1);
    expect(book.get('c1')).toMatchObject({ value: undefined, exists: false, heldVersion: 0 });
    expect(
      book.onConfig({ registerIds: ['c1'], key: 'switch', value: 'on', version: 2, exists: true }).deliveries,
    ).toHaveLength(1);
    expect(book.onConfig({ registerIds: ['c1'], key: 'switch', value: 'off', version: 1, exists: true }).dropped).toBe(
      1,
    );
    expect(book.get('c1')).toMatchObject({ value: 'on', exists: true, heldVersion: 2 });
  });

  it('sends unregisters only for what the session holds, and completes in-flight ones on disconnect', () => {
    const book = new RegistrationBook(10, 'Z');
    book.onConnected();
    book.add(pub('a'));
    book.republish('a', ['a:2']);
    book.add(sub('s'));
    const removed = book.remove('a');
    expect(removed.local).toBe(false);
    expect(removed.messages.map((m) => m.body?.$case === 'unpublish' && m.body.value.version)).toEqual([2]);
    expect(show(book.remove('s').messages)).toEqual(['unsubscribe:s']);
    expect(book.onDisconnected().sort()).toEqual(['a', 's']);
    expect(book.remove('nothing')).toEqual({ messages: [], local: true });
  });

  it('maps wire errors to error values, unknown codes to Internal', () => {
    expect(toErrorValue({ code: 'Blocked', message: 'no', field: '', leader: '' })).toEqual({
      code: 'Blocked',
      message: 'no',
    });
    expect(toErrorValue({ code: 'Weird', message: '', field: 'f', leader: '' })).toEqual({
      code: 'Internal',
      message: 'the session refused the request (Weird)',
      field: 'f',
    });
    expect(toErrorValue(undefined).code).toBe('Internal');
  });
});
