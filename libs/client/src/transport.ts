import type { ClientMessage, ServerMessage } from '@sofareg/contracts';

/**
 * How the client reaches a session: one bidirectional message stream per connection. Injected, so the whole
 * protocol is tested without sockets (`FakeSession` / `ScriptedTransport` in `@sofareg/client/testing`);
 * the default is {@link GrpcTransport}.
 */
export interface Transport {
  /**
   * Opens a stream to `server` (`host:port`). Must return at once; failures are reported through
   * `handlers.onClose`. Implementations should not call the handlers synchronously from inside `open`
   * (the client tolerates it).
   */
  open(server: string, handlers: TransportHandlers): TransportConnection;
}

/** Callbacks of one stream. After `onClose`, neither is called again for that stream. */
export interface TransportHandlers {
  onMessage(message: ServerMessage): void;
  /** The stream ended: `error` is undefined when the server ended it cleanly. */
  onClose(error?: Error): void;
}

/** One open stream. */
export interface TransportConnection {
  /** Queues a message; a message sent after the stream closed is dropped. */
  send(message: ClientMessage): void;
  /** Closes the stream and frees its resources. Does not call `onClose`. Idempotent. */
  close(): void;
}
