/** The fields that order two writes of one registerId. */
export interface RegistrationStamp {
  version: number;
  registerTimestamp: number;
}

/**
 * Compares two writes of one registerId by `(version, registerTimestamp)`: > 0 when `a` is newer, < 0 when
 * older, 0 when the same write. The older of two writes is ignored wherever they meet.
 */
export function compareStamps(a: RegistrationStamp, b: RegistrationStamp): number {
  return a.version !== b.version ? a.version - b.version : a.registerTimestamp - b.registerTimestamp;
}

/** Versions per millisecond in a datum version: room for that many changes of one datum in one ms. */
export const DATUM_VERSIONS_PER_MS = 1000;

/**
 * The next datum version: strictly greater than `previous`, and at least `nowMs * 1000`, so that a new slot
 * leader (whose clock has moved on) continues above every version an old leader handed out. Safe as a JS
 * number until the year 2255.
 */
export function nextDatumVersion(previous: number, nowMs: number): number {
  return Math.max(previous + 1, nowMs * DATUM_VERSIONS_PER_MS);
}
