import { ErrorCode, ErrorValue } from '@sofareg/model';

/**
 * The client's connection life cycle as a pure state machine: events go in through {@link step}, the work to
 * do comes out as a list of {@link ConnectionEffect}s that the shell carries out in order. No timers, sockets
 * or clocks here: time arrives in the events, the retry delay comes from the injected `delayFor`.
 *
 * ```
 *            start                dialSucceeded
 *   idle ───────────► connecting ──────────────► connected
 *                      ▲     │ dialFailed            │ streamEnded
 *         retryTimer   │     ▼                       ▼
 *         Fired        └─ reconnecting ◄─────────────┘
 *   any ── close / attempts exhausted ──► closed
 * ```
 *
 * Every dial gets a new `epoch`; events carry the epoch of the dial they concern and are ignored when it is
 * not the current one (a late callback of a replaced stream cannot disturb the new one). At most one dial is
 * in flight: only `start` and `retryTimerFired` start one, and only from states without one.
 */
export type ConnectionState =
  | { readonly phase: 'idle'; readonly epoch: number }
  | { readonly phase: 'connecting'; readonly epoch: number; readonly attempt: number }
  | {
      readonly phase: 'connected';
      readonly epoch: number;
      /** The attempt that succeeded; the next drop continues from it unless the connection was stable. */
      readonly attempt: number;
      readonly server: string;
      readonly connectedAt: number;
    }
  | { readonly phase: 'reconnecting'; readonly epoch: number; readonly attempt: number; readonly delayMs: number }
  | { readonly phase: 'closed'; readonly epoch: number; readonly reason: ErrorValue | undefined };

/** The phase names of {@link ConnectionState}. */
export type ConnectionPhase = ConnectionState['phase'];

/** What can happen to a connection. `now` is the caller's clock, in ms. */
export type ConnectionEvent =
  | { readonly type: 'start' }
  | { readonly type: 'dialSucceeded'; readonly epoch: number; readonly server: string; readonly now: number }
  | { readonly type: 'dialFailed'; readonly epoch: number; readonly error: ErrorValue; readonly now: number }
  | {
      readonly type: 'streamEnded';
      readonly epoch: number;
      readonly error: ErrorValue | undefined;
      readonly now: number;
    }
  | { readonly type: 'retryTimerFired' }
  | { readonly type: 'close'; readonly reason?: ErrorValue };

/** Work for the shell, to be carried out in the order given. */
export type ConnectionEffect =
  /** Pick a server and open a stream for this epoch (say hello, await the answer). */
  | { readonly type: 'dial'; readonly epoch: number; readonly attempt: number }
  /** Close the stream of this epoch, if any; its callbacks are stale from now on. */
  | { readonly type: 'teardown'; readonly epoch: number }
  /** The stream of this epoch is established: replay registrations, flush the offline queue, heartbeat. */
  | { readonly type: 'established'; readonly epoch: number; readonly server: string }
  /** The established stream is gone: forget in-flight requests, stop heartbeats. */
  | { readonly type: 'lost'; readonly epoch: number }
  | { readonly type: 'armRetryTimer'; readonly delayMs: number }
  | { readonly type: 'cancelRetryTimer' }
  | { readonly type: 'status'; readonly event: MachineStatus }
  /** Terminal: reject waiters, end status iterators, resolve `closed()` with the reason. */
  | { readonly type: 'finish'; readonly reason: ErrorValue | undefined };

/** Status changes as the machine sees them; the shell adds what it knows (session hello). */
export type MachineStatus =
  | { readonly type: 'connecting'; readonly attempt: number }
  | { readonly type: 'connected'; readonly server: string; readonly attempt: number }
  | { readonly type: 'disconnected'; readonly server: string; readonly error: ErrorValue | undefined }
  | {
      readonly type: 'reconnecting';
      readonly attempt: number;
      readonly delayMs: number;
      readonly error: ErrorValue | undefined;
    }
  | { readonly type: 'closed'; readonly reason: ErrorValue | undefined };

/** Fixed inputs of the machine. */
export interface ConnectionMachineConfig {
  /** Wait before retry `attempt` (1 = first retry), in ms. */
  readonly delayFor: (attempt: number) => number;
  /** Consecutive failed attempts before giving up; -1 = never. */
  readonly maxAttempts: number;
  /** A connection up at least this long resets the attempt count on its drop. */
  readonly stableConnectionMs: number;
}

/** The outcome of one {@link step}. `ignored` is true when the event was stale or not applicable. */
export interface StepResult {
  readonly state: ConnectionState;
  readonly effects: readonly ConnectionEffect[];
  readonly ignored: boolean;
}

/** The state before `start`. */
export const INITIAL_CONNECTION_STATE: ConnectionState = Object.freeze({ phase: 'idle', epoch: 0 });

const ignore = (state: ConnectionState): StepResult => ({ state, effects: [], ignored: true });

/** Advances the machine by one event. Pure and total: an inapplicable event returns `ignored: true`. */
export function step(config: ConnectionMachineConfig, state: ConnectionState, event: ConnectionEvent): StepResult {
  switch (event.type) {
    case 'start':
      if (state.phase !== 'idle') return ignore(state);
      return dial(state.epoch + 1, 0, []);

    case 'retryTimerFired':
      if (state.phase !== 'reconnecting') return ignore(state);
      return dial(state.epoch + 1, state.attempt, []);

    case 'dialSucceeded': {
      if (state.phase !== 'connecting' || state.epoch !== event.epoch) return ignore(state);
      const next: ConnectionState = {
        phase: 'connected',
        epoch: state.epoch,
        attempt: state.attempt,
        server: event.server,
        connectedAt: event.now,
      };
      return {
        state: next,
        effects: [
          { type: 'established', epoch: state.epoch, server: event.server },
          { type: 'status', event: { type: 'connected', server: event.server, attempt: state.attempt } },
        ],
        ignored: false,
      };
    }

    case 'dialFailed':
      if (state.phase !== 'connecting' || state.epoch !== event.epoch) return ignore(state);
      return retry(config, state.epoch, state.attempt + 1, event.error, [{ type: 'teardown', epoch: state.epoch }]);

    case 'streamEnded': {
      if (state.phase !== 'connected' || state.epoch !== event.epoch) return ignore(state);
      const stable = event.now - state.connectedAt >= config.stableConnectionMs;
      const attempt = stable ? 1 : state.attempt + 1;
      return retry(config, state.epoch, attempt, event.error, [
        { type: 'teardown', epoch: state.epoch },
        { type: 'lost', epoch: state.epoch },
        { type: 'status', event: { type: 'disconnected', server: state.server, error: event.error } },
      ]);
    }

    case 'close': {
      if (state.phase === 'closed') return ignore(state);
      return close(state, event.reason);
    }
  }
}

function dial(epoch: number, attempt: number, effects: ConnectionEffect[]): StepResult {
  return {
    state: { phase: 'connecting', epoch, attempt },
    effects: [...effects, { type: 'status', event: { type: 'connecting', attempt } }, { type: 'dial', epoch, attempt }],
    ignored: false,
  };
}

function retry(
  config: ConnectionMachineConfig,
  epoch: number,
  attempt: number,
  error: ErrorValue | undefined,
  effects: ConnectionEffect[],
): StepResult {
  if (config.maxAttempts >= 0 && attempt > config.maxAttempts) {
    const reason: ErrorValue = {
      code: ErrorCode.Unavailable,
      message:
        `gave up after ${attempt - 1} reconnect attempt(s) (maxAttempts ${config.maxAttempts})` +
        (error ? `; last error: ${error.message}` : ''),
    };
    // No timer is armed and the stream is already torn down: close from a state that owns nothing.
    return close({ phase: 'idle', epoch }, reason, effects);
  }
  const delayMs = Math.max(0, config.delayFor(attempt));
  return {
    state: { phase: 'reconnecting', epoch, attempt, delayMs },
    effects: [
      ...effects,
      { type: 'status', event: { type: 'reconnecting', attempt, delayMs, error } },
      { type: 'armRetryTimer', delayMs },
    ],
    ignored: false,
  };
}

function close(state: ConnectionState, reason: ErrorValue | undefined, prior: ConnectionEffect[] = []): StepResult {
  const effects: ConnectionEffect[] = [...prior];
  if (state.phase === 'reconnecting') effects.push({ type: 'cancelRetryTimer' });
  if (state.phase === 'connecting') effects.push({ type: 'teardown', epoch: state.epoch });
  if (state.phase === 'connected') {
    effects.push({ type: 'teardown', epoch: state.epoch }, { type: 'lost', epoch: state.epoch });
    effects.push({ type: 'status', event: { type: 'disconnected', server: state.server, error: undefined } });
  }
  effects.push({ type: 'status', event: { type: 'closed', reason } }, { type: 'finish', reason });
  return { state: { phase: 'closed', epoch: state.epoch, reason }, effects, ignored: false };
}
