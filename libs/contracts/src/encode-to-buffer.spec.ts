import { encodeToBuffer } from './encode-to-buffer';
import { ClientMessage, SessionServiceService } from './gen/session';

const publish = (i: number, dataList: string[] = [`10.0.0.${i}:1`]): ClientMessage => ({
  body: {
    $case: 'publish',
    value: {
      requestId: i,
      registerId: `r${i}`,
      dataId: `svc${i}`,
      instanceId: '',
      group: '',
      dataList,
      version: 1,
      appName: 'a',
    },
  },
});

describe('encodeToBuffer', () => {
  it('encodes exactly what the codec encodes, message after message, into Buffers that stay valid', () => {
    const out = [1, 2, 3].map((i) => encodeToBuffer(ClientMessage, publish(i)));
    out.forEach((b, i) => {
      expect(Buffer.isBuffer(b)).toBe(true);
      expect(b.equals(Buffer.from(ClientMessage.encode(publish(i + 1)).finish()))).toBe(true);
      expect(ClientMessage.decode(b)).toEqual(publish(i + 1));
    });
  });

  it('is what the generated service definitions serialize with', () => {
    const b = SessionServiceService.connect.requestSerialize(publish(7));
    expect(ClientMessage.decode(b)).toEqual(publish(7));
  });

  it('starts clean after an encode that threw halfway', () => {
    const good = publish(1).body;
    const bad = {
      body: {
        $case: 'publish',
        value: { ...(good?.$case === 'publish' ? good.value : {}), requestId: 'not a number' },
      },
    } as unknown as ClientMessage;
    expect(() => encodeToBuffer(ClientMessage, bad)).toThrow();
    expect(ClientMessage.decode(encodeToBuffer(ClientMessage, publish(2)))).toEqual(publish(2));
  });

  it('handles a message larger than what it keeps between calls', () => {
    const big = publish(
      3,
      Array.from({ length: 60_000 }, (_, i) => `10.1.${i >> 8}.${i & 255}:12200`),
    );
    expect(ClientMessage.decode(encodeToBuffer(ClientMessage, big))).toEqual(big);
    expect(ClientMessage.decode(encodeToBuffer(ClientMessage, publish(4)))).toEqual(publish(4));
  });
});
