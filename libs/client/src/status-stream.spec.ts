import { StatusStream } from './status-stream';

describe('StatusStream', () => {
  it('gives each iterator the events published after it was created, in order, then ends it', async () => {
    const s = new StatusStream<number>(10);
    s.publish(0);
    const a = s.iterator();
    s.publish(1);
    const b = s.iterator();
    s.publish(2);
    s.end();
    s.publish(3);
    const read = async (it: AsyncIterableIterator<number>) => {
      const out: number[] = [];
      for await (const v of it) out.push(v);
      return out;
    };
    expect(await read(a)).toEqual([1, 2]);
    expect(await read(b)).toEqual([2]);
    expect(await read(s.iterator())).toEqual([]);
  });

  it('resolves a waiting next() when an event arrives, and ends a waiting one on end()', async () => {
    const s = new StatusStream<string>(10);
    const it = s.iterator();
    const first = it.next();
    s.publish('x');
    expect(await first).toEqual({ value: 'x', done: false });
    const second = it.next();
    s.end();
    expect(await second).toEqual({ value: undefined, done: true });
  });

  it('drops the oldest events of an iterator that falls behind, and reports it', async () => {
    const dropped: number[] = [];
    const s = new StatusStream<number>(3, (n) => dropped.push(n));
    const it = s.iterator();
    for (let i = 1; i <= 5; i++) s.publish(i);
    s.end();
    const out: number[] = [];
    for await (const v of it) out.push(v);
    expect(out).toEqual([3, 4, 5]);
    expect(dropped).toEqual([1, 2]);
    expect(s.dropped).toBe(2);
  });

  it('detaches an iterator on return() (break out of for-await)', async () => {
    const s = new StatusStream<number>(3);
    const it = s.iterator();
    expect(s.size).toBe(1);
    const pending = it.next();
    await it.return?.();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(s.size).toBe(0);
    s.publish(1);
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('refuses a second concurrent next() instead of losing an event', async () => {
    const s = new StatusStream<number>(3);
    const it = s.iterator();
    void it.next();
    await expect(it.next()).rejects.toThrow(/pending/);
    s.end();
  });
});
