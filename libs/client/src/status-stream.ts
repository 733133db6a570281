/**
 * Fans events out to any number of async iterators. Each iterator sees the events published after it was
 * created, in order, and ends (done) after {@link StatusStream.end}. Bounded: an iterator that falls more than
 * `bound` events behind loses its oldest events (counted in {@link StatusStream.dropped}, reported through
 * `onOverflow`) rather than growing without limit.
 */
export class StatusStream<T> {
  private readonly readers = new Set<Reader<T>>();
  private ended = false;
  /** Events dropped, over all iterators, because one fell behind by more than the bound. */
  dropped = 0;

  constructor(
    private readonly bound: number,
    private readonly onOverflow: (dropped: number) => void = () => undefined,
  ) {}

  /** A new iterator over future events. After {@link end}, it is done at once. */
  iterator(): AsyncIterableIterator<T> {
    const reader = new Reader<T>(
      this.bound,
      () => this.readers.delete(reader),
      () => {
        this.dropped++;
        this.onOverflow(this.dropped);
      },
    );
    if (this.ended) reader.end();
    else this.readers.add(reader);
    return reader;
  }

  /** Delivers `event` to every live iterator. Ignored after {@link end}. */
  publish(event: T): void {
    if (this.ended) return;
    for (const r of this.readers) r.push(event);
  }

  /** Ends every iterator once it has drained what it holds; later iterators are done at once. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const r of this.readers) r.end();
    this.readers.clear();
  }

  /** Number of live iterators. */
  get size(): number {
    return this.readers.size;
  }
}

class Reader<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | undefined;
  private done = false;

  constructor(
    private readonly bound: number,
    private readonly detach: () => void,
    private readonly overflow: () => void,
  ) {}

  push(event: T): void {
    if (this.done) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: event, done: false });
      return;
    }
    this.buffer.push(event);
    if (this.buffer.length > this.bound) {
      this.buffer.shift();
      this.overflow();
    }
  }

  end(): void {
    this.done = true;
    if (this.waiting && this.buffer.length === 0) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift() as T, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    if (this.waiting)
      return Promise.reject(new Error('status iterator: next() called while a previous next() is pending'));
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.buffer.length = 0;
    this.done = true;
    this.detach();
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
