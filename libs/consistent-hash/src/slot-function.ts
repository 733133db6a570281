import { crc32cOfString } from './crc32c';
import { ConsistentHashError } from './errors';

/** The default number of slots of a cluster (SOFARegistry's `SlotConfig.SLOT_NUM`). */
export const DEFAULT_SLOT_COUNT = 256;

/** The largest slot count accepted (2^16). */
export const MAX_SLOT_COUNT = 65536;

/** True when `n` is a valid slot count: an integer power of two from 1 to {@link MAX_SLOT_COUNT}. */
export function isValidSlotCount(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_SLOT_COUNT && (n & (n - 1)) === 0;
}

/**
 * Throws `ConsistentHashError` with `code` unless `n` is a valid slot count.
 * @param field the argument's name, repeated in the error's `field` and message.
 */
export function assertSlotCount(n: number, field: string, code: 'INVALID_SLOTS' | 'INVALID_SLOT_COUNT'): void {
  if (!isValidSlotCount(n)) {
    throw new ConsistentHashError(
      code,
      field,
      `${field} must be a power of two from 1 to ${MAX_SLOT_COUNT}, got ${String(n)}`,
    );
  }
}

/**
 * Java's `Math.abs(int)` applied to a 32-bit value, then masked with `slots - 1`: the last step of
 * SOFARegistry's slot function. `crc` is read as a signed 32-bit integer (unsigned input is accepted);
 * `Math.abs` leaves -2^31 as it is (negation overflows), and the mask keeps the low bits, so -2^31 lands
 * in slot 0. `slots` must be a valid slot count (not checked here: this is the inner loop).
 */
export function slotOfCrc(crc: number, slots: number): number {
  const signed = crc | 0;
  const abs = signed < 0 ? -signed | 0 : signed;
  return abs & (slots - 1);
}

/**
 * The slot of a dataInfoId, exactly as SOFARegistry's `Crc32cSlotFunction` computes it, so slot numbers
 * match the original's: CRC-32C of the id's UTF-8 bytes (Java's encoding, see `crc32cOfString`), read as a
 * signed 32-bit integer, Java `Math.abs`, masked with `slots - 1`.
 *
 * Example: `slotOf('aaaaaaaaaa') === 208` (CRC-32C 0xE7266430; a plain `crc & 255` would give 48).
 * @param slots the cluster's slot count, default 256; must be a power of two from 1 to 65536, else
 *   throws `ConsistentHashError` with code `INVALID_SLOTS` (field `slots`).
 * @throws ConsistentHashError `INVALID_DATA_INFO_ID` when `dataInfoId` is not a string.
 */
export function slotOf(dataInfoId: string, slots: number = DEFAULT_SLOT_COUNT): number {
  if (typeof dataInfoId !== 'string') {
    throw new ConsistentHashError(
      'INVALID_DATA_INFO_ID',
      'dataInfoId',
      `dataInfoId must be a string, got ${typeof dataInfoId}`,
    );
  }
  if (!isValidSlotCount(slots)) assertSlotCount(slots, 'slots', 'INVALID_SLOTS');
  return slotOfCrc(crc32cOfString(dataInfoId), slots);
}
