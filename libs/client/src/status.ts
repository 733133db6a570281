import type { ErrorValue } from '@sofareg/model';

/**
 * A change of the client's connection, as delivered by `client.status()`. A typed union on `type`:
 * - `connecting`: a dial starts (attempt 0 is the first connect, n the n-th retry since the last stable link);
 * - `connected`: the session answered the hello; registrations have been re-sent; `reconnected` is false
 *   only for the first connection of the client;
 * - `disconnected`: an established stream ended (with the cause, when there was one);
 * - `reconnecting`: the next dial is scheduled in `delayMs` (after a failed dial or a disconnect);
 * - `closed`: terminal; `reason` is set when the client gave up rather than being closed.
 */
export type StatusEvent =
  | { readonly type: 'connecting'; readonly attempt: number }
  | {
      readonly type: 'connected';
      readonly server: string;
      readonly attempt: number;
      readonly connectId: string;
      readonly sessionAddress: string;
      readonly zone: string;
      readonly reconnected: boolean;
    }
  | { readonly type: 'disconnected'; readonly server: string; readonly error?: ErrorValue }
  | { readonly type: 'reconnecting'; readonly attempt: number; readonly delayMs: number; readonly error?: ErrorValue }
  | { readonly type: 'closed'; readonly reason?: ErrorValue };

/** The `type` names of {@link StatusEvent}. */
export type StatusEventType = StatusEvent['type'];
