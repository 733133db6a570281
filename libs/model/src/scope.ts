/** Which publishers a subscriber sees: its session's zone only, or every zone of the data center. */
export const SCOPES = ['zone', 'dataCenter', 'global'] as const;
export type Scope = (typeof SCOPES)[number];

/** True when `value` names a scope. */
export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Keys of meta's provide-data that sessions act on (switches and lists). */
export const PROVIDE_DATA_KEYS = Object.freeze({
  /** 'true' stops every push until set back to 'false'. */
  stopPush: 'session.stopPushDataSwitch',
  /** Comma-separated client IPs still pushed while pushes are stopped. */
  grayOpen: 'session.grayOpenPushIps',
  /** Comma-separated client IPs whose publishers are removed and whose publishes are ignored. */
  clientOff: 'session.clientOffIps',
  /** Comma-separated client IPs whose publishes are refused. */
  publishBlacklist: 'session.blacklist.publish',
  /** Comma-separated client IPs whose subscribes are refused. */
  subscribeBlacklist: 'session.blacklist.subscribe',
});
