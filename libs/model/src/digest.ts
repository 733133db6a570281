import { RegistrationStamp } from './ordering';

/** A registration as digests see it. */
export interface DigestedRegistration extends RegistrationStamp {
  registerId: string;
}

/** Count and order-independent hash of a set of registrations of one dataInfoId. */
export interface RegistrationDigest {
  count: number;
  hash: number;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Digest of registrations: how many, and the sum (mod 2^32) of a hash of each `registerId|version|timestamp`.
 * Independent of order, so a session and a data server holding the same registrations compute the same value.
 */
export function digestRegistrations(items: Iterable<DigestedRegistration>): RegistrationDigest {
  let count = 0;
  let hash = 0;
  for (const r of items) {
    count++;
    hash = (hash + fnv1a(`${r.registerId}|${r.version}|${r.registerTimestamp}`)) >>> 0;
  }
  return { count, hash };
}
