/**
 * Stable error codes thrown by this library. Every code names the argument at fault; `field` repeats the
 * argument's name so an adapter can map it to an `InvalidArgument` with that field.
 */
export type ConsistentHashErrorCode =
  | 'INVALID_SLOTS'
  | 'INVALID_DATA_INFO_ID'
  | 'INVALID_SLOT_COUNT'
  | 'INVALID_REPLICAS'
  | 'INVALID_LIVE'
  | 'INVALID_PREV';

/**
 * An invalid argument given to this library: a programming or configuration error, never an expected
 * outcome. `code` is stable; `field` names the offending argument (`slots`, `opts.slotCount`, `live[3]`...).
 */
export class ConsistentHashError extends Error {
  override readonly name = 'ConsistentHashError';

  constructor(
    readonly code: ConsistentHashErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
