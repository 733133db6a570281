/** The session's connection admission (a TokenBucket of new connections a second). */
export const ADMISSION = Symbol('ADMISSION');
