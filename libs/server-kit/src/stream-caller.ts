import * as grpc from '@grpc/grpc-js';
import type { ClientPool } from './pool';

/** A request or answer of a {@link StreamCaller}: the id that matches them. */
export interface Correlated {
  callId: number;
}

/** An error of a {@link StreamCaller} call, with a gRPC status code (so `isTransient` applies). */
export class StreamCallError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

interface Pending<Res> {
  resolve: (res: Res) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Request/answer over one long-lived bidi stream, for hot paths where a unary call per request would cost
 * several times the work it carries (a grpc-js unary call costs ~10x a stream message in CPU). Each request
 * gets a fresh `callId` and its answer is matched by it, so answers may come out of order. The stream opens on
 * first use and again after it ends; requests pending when it ends fail with its error; a request unanswered
 * after `timeoutMs` fails with DEADLINE_EXCEEDED (its answer, if it comes later, is ignored).
 */
export class StreamCaller<Req extends Correlated, Res extends Correlated> {
  private stream: grpc.ClientDuplexStream<Req, Res> | undefined;
  private readonly pending = new Map<number, Pending<Res>>();
  private nextId = 1;
  private closed = false;

  /**
   * @param open opens a new stream (e.g. `() => client.write()`).
   * @param timeoutMs how long one request may wait for its answer.
   */
  constructor(
    private readonly open: () => grpc.ClientDuplexStream<Req, Res>,
    private readonly timeoutMs: number,
  ) {}

  /** Requests waiting for their answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends `request` (its `callId` is set here) and resolves with the answer. */
  call(request: Req): Promise<Res> {
    if (this.closed) return Promise.reject(new StreamCallError(grpc.status.CANCELLED, 'stream caller closed'));
    const stream = this.stream ?? this.connect();
    const callId = this.nextId++;
    request.callId = callId;
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(callId))
          reject(new StreamCallError(grpc.status.DEADLINE_EXCEEDED, `no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      timer.unref();
      this.pending.set(callId, { resolve, reject, timer });
      stream.write(request);
    });
  }

  /** Ends the stream and fails what is pending. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    this.failAll(new StreamCallError(grpc.status.CANCELLED, 'stream caller closed'));
  }

  private connect(): grpc.ClientDuplexStream<Req, Res> {
    const stream = this.open();
    this.stream = stream;
    stream.on('data', (res: Res) => {
      const call = this.pending.get(res.callId);
      if (!call) return;
      this.pending.delete(res.callId);
      clearTimeout(call.timer);
      call.resolve(res);
    });
    const ended = (err: Error) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.failAll(err);
    };
    stream.on('error', (err: Error) => ended(err));
    stream.on('end', () => ended(new StreamCallError(grpc.status.UNAVAILABLE, 'stream ended by the server')));
    return stream;
  }

  private failAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }
}

/**
 * One {@link StreamCaller} per remote address, over the clients of a {@link ClientPool}: created on first use,
 * closed together.
 */
export class StreamCallers<C extends grpc.Client, Req extends Correlated, Res extends Correlated> {
  private readonly callers = new Map<string, StreamCaller<Req, Res>>();

  /**
   * @param pool where the clients come from.
   * @param open opens the stream on a client (e.g. `(c) => c.write()`).
   * @param timeoutMs how long one request may wait for its answer.
   */
  constructor(
    private readonly pool: ClientPool<C>,
    private readonly open: (client: C) => grpc.ClientDuplexStream<Req, Res>,
    private readonly timeoutMs: number,
  ) {}

  get(address: string): StreamCaller<Req, Res> {
    let caller = this.callers.get(address);
    if (!caller) {
      const client = this.pool.get(address);
      caller = new StreamCaller<Req, Res>(() => this.open(client), this.timeoutMs);
      this.callers.set(address, caller);
    }
    return caller;
  }

  /** Closes every stream (what is pending fails with CANCELLED). */
  closeAll(): void {
    for (const c of this.callers.values()) c.close();
    this.callers.clear();
  }
}

/** A stream served by {@link serveStreamCalls}. */
export interface ServedStream {
  /** Ends the stream once the requests being handled are answered (a server shutting down). */
  end(): void;
  /** Resolves when the stream is over, whichever side ended it. */
  readonly closed: Promise<void>;
}

/**
 * Serves the other side of a {@link StreamCaller}: answers each request of the stream with `handle`'s result,
 * carrying the request's `callId`. A handler that throws answers with `onError`'s answer. Answers to a stream
 * that has gone are dropped.
 */
export function serveStreamCalls<Req extends Correlated, Res extends Correlated>(
  call: grpc.ServerDuplexStream<Req, Res>,
  handle: (req: Req) => Res | Promise<Res>,
  onError: (req: Req, err: Error) => Res,
): ServedStream {
  let open = true;
  let ending = false;
  let running = 0;
  let markClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const gone = () => {
    open = false;
    markClosed();
  };
  const finish = () => {
    if (!open) return;
    open = false;
    call.end();
    markClosed();
  };
  call.on('cancelled', gone);
  call.on('error', gone);
  call.on('close', gone);
  // The caller sends no more: answer what is running, then end.
  call.on('end', () => {
    ending = true;
    if (running === 0) finish();
  });
  call.on('data', (req: Req) => {
    if (ending) return;
    running++;
    Promise.resolve()
      .then(() => handle(req))
      .catch((err: Error) => onError(req, err))
      .then((res) => {
        running--;
        if (!open) return;
        res.callId = req.callId;
        call.write(res);
        if (ending && running === 0) finish();
      });
  });
  return {
    end: () => {
      ending = true;
      if (running === 0) finish();
    },
    closed,
  };
}
