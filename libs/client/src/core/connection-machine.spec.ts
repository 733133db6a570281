import { ErrorCode, ErrorValue } from '@sofareg/model';
import { seededRandom } from '../testing/manual-clock';
import {
  ConnectionEffect,
  ConnectionEvent,
  ConnectionMachineConfig,
  ConnectionState,
  INITIAL_CONNECTION_STATE,
  step,
} from './connection-machine';

const config: ConnectionMachineConfig = { delayFor: (a) => a * 100, maxAttempts: -1, stableConnectionMs: 10_000 };
const err: ErrorValue = { code: ErrorCode.Unavailable, message: 'boom' };

/** Runs events from the initial state; returns the final state and every effect, in order. */
function run(events: ConnectionEvent[], cfg = config, from: ConnectionState = INITIAL_CONNECTION_STATE) {
  let state = from;
  const effects: ConnectionEffect[] = [];
  for (const e of events) {
    const r = step(cfg, state, e);
    state = r.state;
    effects.push(...r.effects);
  }
  return { state, effects };
}

const types = (effects: ConnectionEffect[]) =>
  effects.map((e) => (e.type === 'status' ? `status:${e.event.type}` : e.type));

describe('connection state machine', () => {
  it('start dials at once (attempt 0), hello makes it connected and triggers the replay', () => {
    const { state, effects } = run([{ type: 'start' }, { type: 'dialSucceeded', epoch: 1, server: 's:1', now: 5 }]);
    expect(state).toEqual({ phase: 'connected', epoch: 1, attempt: 0, server: 's:1', connectedAt: 5 });
    expect(types(effects)).toEqual(['status:connecting', 'dial', 'established', 'status:connected']);
  });

  it('a failed dial tears the stream down and schedules the next attempt with its delay', () => {
    const { state, effects } = run([{ type: 'start' }, { type: 'dialFailed', epoch: 1, error: err, now: 0 }]);
    expect(state).toEqual({ phase: 'reconnecting', epoch: 1, attempt: 1, delayMs: 100 });
    expect(types(effects)).toEqual(['status:connecting', 'dial', 'teardown', 'status:reconnecting', 'armRetryTimer']);
    const next = step(config, state, { type: 'retryTimerFired' });
    expect(next.state).toEqual({ phase: 'connecting', epoch: 2, attempt: 1 });
    expect(next.effects).toContainEqual({ type: 'dial', epoch: 2, attempt: 1 });
  });

  it('a drop of a stable connection retries from attempt 1; a quick drop keeps growing the delay', () => {
    const up = run([
      { type: 'start' },
      { type: 'dialFailed', epoch: 1, error: err, now: 0 },
      { type: 'retryTimerFired' },
      { type: 'dialFailed', epoch: 2, error: err, now: 0 },
      { type: 'retryTimerFired' },
      { type: 'dialSucceeded', epoch: 3, server: 's:1', now: 1_000 },
    ]).state;
    expect(up).toMatchObject({ phase: 'connected', attempt: 2 });
    const quick = step(config, up, { type: 'streamEnded', epoch: 3, error: err, now: 1_500 });
    expect(quick.state).toEqual({ phase: 'reconnecting', epoch: 3, attempt: 3, delayMs: 300 });
    expect(types([...quick.effects])).toEqual([
      'teardown',
      'lost',
      'status:disconnected',
      'status:reconnecting',
      'armRetryTimer',
    ]);
    const stable = step(config, up, { type: 'streamEnded', epoch: 3, error: err, now: 11_000 });
    expect(stable.state).toEqual({ phase: 'reconnecting', epoch: 3, attempt: 1, delayMs: 100 });
  });

  it('ignores events of a replaced stream (epoch guard)', () => {
    const { state } = run([
      { type: 'start' },
      { type: 'dialFailed', epoch: 1, error: err, now: 0 },
      { type: 'retryTimerFired' },
      { type: 'dialSucceeded', epoch: 2, server: 's:2', now: 0 },
    ]);
    for (const late of [
      { type: 'dialSucceeded', epoch: 1, server: 's:1', now: 1 },
      { type: 'dialFailed', epoch: 1, error: err, now: 1 },
      { type: 'streamEnded', epoch: 1, error: err, now: 1 },
      { type: 'streamEnded', epoch: 3, error: err, now: 1 },
    ] as ConnectionEvent[]) {
      const r = step(config, state, late);
      expect(r).toEqual({ state, effects: [], ignored: true });
    }
  });

  it('ignores a second start and a retry timer outside reconnecting (one dial in flight)', () => {
    const connecting = run([{ type: 'start' }]).state;
    expect(step(config, connecting, { type: 'start' }).ignored).toBe(true);
    expect(step(config, connecting, { type: 'retryTimerFired' }).ignored).toBe(true);
  });

  it('gives up after maxAttempts consecutive failures and closes with Unavailable', () => {
    const cfg = { ...config, maxAttempts: 2 };
    const { state, effects } = run(
      [
        { type: 'start' },
        { type: 'dialFailed', epoch: 1, error: err, now: 0 },
        { type: 'retryTimerFired' },
        { type: 'dialFailed', epoch: 2, error: err, now: 0 },
        { type: 'retryTimerFired' },
        { type: 'dialFailed', epoch: 3, error: err, now: 0 },
      ],
      cfg,
    );
    expect(state.phase).toBe('closed');
    expect(state.phase === 'closed' && state.reason?.code).toBe(ErrorCode.Unavailable);
    expect(state.phase === 'closed' && state.reason?.message).toMatch(/gave up after 2 reconnect attempt\(s\).*boom/);
    expect(types(effects).slice(-3)).toEqual(['teardown', 'status:closed', 'finish']);
  });

  it('close from every phase releases what that phase owns, then is terminal', () => {
    const connected = run([{ type: 'start' }, { type: 'dialSucceeded', epoch: 1, server: 's:1', now: 0 }]).state;
    expect(types([...step(config, connected, { type: 'close' }).effects])).toEqual([
      'teardown',
      'lost',
      'status:disconnected',
      'status:closed',
      'finish',
    ]);
    const connecting = run([{ type: 'start' }]).state;
    expect(types([...step(config, connecting, { type: 'close' }).effects])).toEqual([
      'teardown',
      'status:closed',
      'finish',
    ]);
    const waiting = run([{ type: 'start' }, { type: 'dialFailed', epoch: 1, error: err, now: 0 }]).state;
    expect(types([...step(config, waiting, { type: 'close' }).effects])).toEqual([
      'cancelRetryTimer',
      'status:closed',
      'finish',
    ]);
    expect(types([...step(config, INITIAL_CONNECTION_STATE, { type: 'close' }).effects])).toEqual([
      'status:closed',
      'finish',
    ]);
    const closed = step(config, connected, { type: 'close' }).state;
    for (const e of [{ type: 'start' }, { type: 'retryTimerFired' }, { type: 'close' }] as ConnectionEvent[]) {
      expect(step(config, closed, e).ignored).toBe(true);
    }
  });

  it('keeps its invariants under random event sequences', () => {
    const seed = Number(process.env.SEED ?? 20261126);
    console.log(`connection machine property seed=${seed} (replay with SEED=${seed})`);
    const random = seededRandom(seed);
    const cfg = { ...config, maxAttempts: 50 };
    for (let run = 0; run < 200; run++) {
      let state: ConnectionState = INITIAL_CONNECTION_STATE;
      let open = new Set<number>(); // epochs dialed and not torn down
      let timerArmed = false;
      let finished = false;
      for (let i = 0; i < 200; i++) {
        const epoch = Math.max(1, state.epoch + Math.floor(random() * 3) - 1); // current, previous or next
        const pick = Math.floor(random() * 7);
        const now = i * 1_000;
        const event: ConnectionEvent = [
          { type: 'start' },
          { type: 'dialSucceeded', epoch, server: 's:1', now },
          { type: 'dialFailed', epoch, error: err, now },
          { type: 'streamEnded', epoch, error: err, now },
          { type: 'retryTimerFired' },
          { type: 'close' },
          { type: 'streamEnded', epoch: state.epoch, error: undefined, now },
        ][pick === 5 && random() < 0.9 ? 6 : pick] as ConnectionEvent;
        const before = state;
        const r = step(cfg, state, event);
        for (const e of r.effects) {
          if (e.type === 'dial') {
            expect(open.size).toBe(0); // only one dial in flight
            expect(e.epoch).toBeGreaterThan(before.epoch); // each dial gets a new epoch
            open.add(e.epoch);
          }
          if (e.type === 'teardown') open.delete(e.epoch);
          if (e.type === 'armRetryTimer') {
            expect(timerArmed).toBe(false);
            timerArmed = true;
          }
          if (e.type === 'cancelRetryTimer') timerArmed = false;
          if (e.type === 'finish') finished = true;
        }
        if (event.type === 'retryTimerFired' && !r.ignored) timerArmed = false;
        state = r.state;
        if (state.phase === 'closed') {
          expect(finished).toBe(true);
          expect(open.size).toBe(0);
          expect(timerArmed).toBe(false);
          break;
        }
        // A stream is open exactly in connecting/connected, for the current epoch.
        if (state.phase === 'connecting' || state.phase === 'connected') expect([...open]).toEqual([state.epoch]);
        else expect(open.size).toBe(0);
        expect(timerArmed).toBe(state.phase === 'reconnecting');
      }
      open = new Set();
    }
  });
});
