import type { ServerMessage } from '@sofareg/contracts';
import { TurnCoalescer } from '@sofareg/model';
import { ClientConnection, Outbound, effectiveClientIp, estimateBytes } from './client-connection';

/** A stream that never flushes unless told to: what a client that stopped reading looks like. */
function stalledCall() {
  const callbacks: (() => void)[] = [];
  const call = {
    ended: false,
    writableLength: 0,
    write(_m: ServerMessage, cb: () => void) {
      this.writableLength++;
      callbacks.push(cb);
      return true;
    },
    end() {
      this.ended = true;
    },
    flush() {
      for (const cb of callbacks.splice(0)) cb();
      this.writableLength = 0;
    },
  };
  return call;
}

const push = (n: number): ServerMessage => ({
  body: {
    $case: 'push',
    value: {
      pushId: 1,
      dataInfoId: 'd',
      registerIds: ['r'],
      data: { zoneData: { z: { dataList: new Array(n).fill('10.0.0.1:12200') } }, localZone: 'z', version: 1 },
    },
  },
});

describe('ClientConnection', () => {
  it('disconnects a client whose unsent messages pass the bound, and counts it once', () => {
    const call = stalledCall();
    const overflows: string[] = [];
    const c = new ClientConnection(
      'c1',
      'ipv4:127.0.0.1:1',
      '127.0.0.1',
      call as never,
      { maxBufferedBytes: 1e9, maxQueuedMessages: 3 },
      (_c, why) => overflows.push(why),
    );
    expect([1, 2, 3].map(() => c.send(push(1)))).toEqual([true, true, true]);
    expect(c.send(push(1))).toBe(false);
    expect(call.ended).toBe(true);
    expect(c.send(push(1))).toBe(false);
    expect(overflows).toEqual(['4 messages']);
  });

  it('disconnects on the byte bound, and forgets bytes once flushed', () => {
    const call = stalledCall();
    const overflows: string[] = [];
    const bytes = estimateBytes(push(100));
    const c = new ClientConnection(
      'c1',
      'p',
      'ip',
      call as never,
      { maxBufferedBytes: bytes * 2, maxQueuedMessages: 1e9 },
      (_c, why) => overflows.push(why),
    );
    expect(c.send(push(100))).toBe(true);
    expect(c.send(push(100))).toBe(true);
    call.flush();
    expect(c.send(push(100))).toBe(true);
    expect(c.send(push(100))).toBe(true);
    expect(c.send(push(100))).toBe(false);
    expect(overflows).toHaveLength(1);
  });

  it('sends a batch-reading client what one turn produced as one frame, bounded by messages not frames', () => {
    const call = stalledCall();
    const frames: ServerMessage[] = [];
    const write = call.write.bind(call);
    call.write = (m: ServerMessage, cb: () => void) => (frames.push(m), write(m, cb));
    const turns: (() => void)[] = [];
    const coalescer = new TurnCoalescer<ClientConnection, Outbound>(
      (run) => turns.push(run),
      (c, queued) => c.write(queued),
    );
    const overflows: string[] = [];
    const c = new ClientConnection(
      'c1',
      'p',
      'ip',
      call as never,
      { maxBufferedBytes: 1e9, maxQueuedMessages: 4 },
      (_c, why) => overflows.push(why),
      coalescer,
    );
    c.hello = {
      clientId: '',
      processId: '',
      appName: '',
      zone: '',
      dataCenter: '',
      clientIp: '',
      clientVersion: '',
      acceptsBatches: true,
    };
    expect([1, 2, 3].map(() => c.send(push(1)))).toEqual([true, true, true]);
    expect(frames).toHaveLength(0);
    turns.splice(0).forEach((run) => run());
    expect(frames).toHaveLength(1);
    expect(frames[0].body?.$case === 'batch' && frames[0].body.value.messages).toHaveLength(3);
    expect(c.queuedMessages).toBe(3); // written, not flushed to the socket yet
    expect(c.send(push(1))).toBe(true);
    expect(c.send(push(1))).toBe(false);
    expect(overflows).toEqual(['5 messages']);
    expect(call.ended).toBe(true);
  });

  it('writes what is queued before it ends the stream', () => {
    const call = stalledCall();
    const frames: ServerMessage[] = [];
    const write = call.write.bind(call);
    call.write = (m: ServerMessage, cb: () => void) => (frames.push(m), write(m, cb));
    const coalescer = new TurnCoalescer<ClientConnection, Outbound>(
      () => undefined,
      (c, queued) => c.write(queued),
    );
    const c = new ClientConnection(
      'c1',
      'p',
      'ip',
      call as never,
      { maxBufferedBytes: 1e9, maxQueuedMessages: 100 },
      () => undefined,
      coalescer,
    );
    c.hello = {
      clientId: '',
      processId: '',
      appName: '',
      zone: '',
      dataCenter: '',
      clientIp: '',
      clientVersion: '',
      acceptsBatches: true,
    };
    c.send(push(1));
    c.close();
    expect(frames).toHaveLength(1);
    expect(call.ended).toBe(true);
  });

  it('estimates a push by its addresses', () => {
    expect(estimateBytes(push(1000))).toBeGreaterThan(1000 * 14);
    expect(estimateBytes({ body: undefined })).toBeGreaterThan(0);
  });
});

describe('effectiveClientIp', () => {
  it('uses the peer address, and the reported one only for loopback peers', () => {
    expect(effectiveClientIp('10.0.0.5', '10.9.9.9')).toBe('10.0.0.5');
    expect(effectiveClientIp('127.0.0.1', '10.9.9.9')).toBe('10.9.9.9');
    expect(effectiveClientIp('::1', '10.9.9.9')).toBe('10.9.9.9');
    expect(effectiveClientIp('::ffff:127.0.0.1', '10.9.9.9')).toBe('10.9.9.9');
    expect(effectiveClientIp('127.0.0.1', '')).toBe('127.0.0.1');
  });
});
