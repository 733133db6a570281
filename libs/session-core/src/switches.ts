import { PROVIDE_DATA_KEYS } from '@sofareg/model';

/**
 * The session's view of meta's switches (provide-data), parsed once per change. Immutable: every change
 * makes a new value, so a decision taken with one value is never half-updated.
 */
export interface SwitchState {
  /** While true nothing is pushed, except to the client IPs in `grayOpen`. */
  readonly stopPush: boolean;
  /** Client IPs still pushed while pushes are stopped. */
  readonly grayOpen: ReadonlySet<string>;
  /** Client IPs whose publishers are removed and whose new publishes are ignored. */
  readonly clientOff: ReadonlySet<string>;
  /** Client IPs whose publishes are refused (`Blocked`). */
  readonly publishBlacklist: ReadonlySet<string>;
  /** Client IPs whose subscribes are refused (`Blocked`). */
  readonly subscribeBlacklist: ReadonlySet<string>;
}

/** No switch set: everything pushed, nobody off or blacklisted. */
export const DEFAULT_SWITCHES: SwitchState = Object.freeze({
  stopPush: false,
  grayOpen: new Set<string>(),
  clientOff: new Set<string>(),
  publishBlacklist: new Set<string>(),
  subscribeBlacklist: new Set<string>(),
});

/** The provide-data keys that {@link applySwitch} understands. */
export const SWITCH_KEYS: ReadonlySet<string> = new Set(Object.values(PROVIDE_DATA_KEYS));

/**
 * Parses a boolean switch value: `true`, `1`, `on`, `yes` (any case, trimmed) are on; anything else (including
 * the empty value of a removed key) is off.
 */
export function parseFlag(value: string): boolean {
  return /^(true|1|on|yes)$/i.test(value.trim());
}

/**
 * Parses an IP list: separated by commas, semicolons or whitespace, or a JSON array of strings. Empty entries
 * are dropped; an unparsable JSON array yields the empty list.
 */
export function parseIpList(value: string): ReadonlySet<string> {
  const v = value.trim();
  if (v.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(v);
      if (Array.isArray(parsed))
        return new Set(
          parsed
            .filter((x): x is string => typeof x === 'string')
            .map((x) => x.trim())
            .filter(Boolean),
        );
    } catch {
      // fall through to the empty list: a malformed list must not block anybody by accident
    }
    return new Set();
  }
  return new Set(v.split(/[\s,;]+/).filter(Boolean));
}

/**
 * The switch state after one provide-data change. Keys that are not switches return `state` itself (same
 * reference), so callers can tell "nothing to do" with `===`.
 */
export function applySwitch(state: SwitchState, key: string, value: string): SwitchState {
  switch (key) {
    case PROVIDE_DATA_KEYS.stopPush:
      return { ...state, stopPush: parseFlag(value) };
    case PROVIDE_DATA_KEYS.grayOpen:
      return { ...state, grayOpen: parseIpList(value) };
    case PROVIDE_DATA_KEYS.clientOff:
      return { ...state, clientOff: parseIpList(value) };
    case PROVIDE_DATA_KEYS.publishBlacklist:
      return { ...state, publishBlacklist: parseIpList(value) };
    case PROVIDE_DATA_KEYS.subscribeBlacklist:
      return { ...state, subscribeBlacklist: parseIpList(value) };
    default:
      return state;
  }
}

/** True when a push to a client at `clientIp` may be sent now. */
export function mayPush(state: SwitchState, clientIp: string): boolean {
  return !state.stopPush || state.grayOpen.has(clientIp);
}

/** What the session does with a publish from `clientIp`. */
export type PublishAdmission = 'accept' | 'ignore' | 'refuse';

/**
 * A publish from a client-off IP is acknowledged but ignored (so that, once the IP is opened and its
 * connections closed, the client re-registers it); one from a publish-blacklisted IP is refused for good.
 */
export function admitPublish(state: SwitchState, clientIp: string): PublishAdmission {
  if (state.publishBlacklist.has(clientIp)) return 'refuse';
  if (state.clientOff.has(clientIp)) return 'ignore';
  return 'accept';
}

/** True when a subscribe from `clientIp` is accepted. */
export function admitSubscribe(state: SwitchState, clientIp: string): boolean {
  return !state.subscribeBlacklist.has(clientIp);
}

/** What changed between two switch states that the session must act on. */
export interface SwitchTransition {
  /** IPs newly client-off: remove their publishers here and at data. */
  readonly turnedOff: string[];
  /** IPs no longer client-off: close their connections so the clients re-register. */
  readonly turnedOn: string[];
  /** Pushes may have become allowed for some clients: push what is outstanding. */
  readonly resumePushes: boolean;
}

/** Compares two switch states. Pure. */
export function switchTransition(before: SwitchState, after: SwitchState): SwitchTransition {
  const turnedOff = [...after.clientOff].filter((ip) => !before.clientOff.has(ip));
  const turnedOn = [...before.clientOff].filter((ip) => !after.clientOff.has(ip));
  let resumePushes = false;
  if (before.stopPush && !after.stopPush) resumePushes = true;
  else if (after.stopPush) resumePushes = [...after.grayOpen].some((ip) => !before.grayOpen.has(ip));
  return { turnedOff, turnedOn, resumePushes };
}
