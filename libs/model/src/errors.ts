/**
 * Stable error codes shared by every role and the client. Expected outcomes travel as values
 * (`{ code, message, field?, leader? }`); one place per transport maps them to gRPC status.
 */
export const ErrorCode = {
  InvalidArgument: 'InvalidArgument',
  NotLeader: 'NotLeader',
  StaleEpoch: 'StaleEpoch',
  SlotMoved: 'SlotMoved',
  NotReady: 'NotReady',
  Overloaded: 'Overloaded',
  Blocked: 'Blocked',
  Unavailable: 'Unavailable',
  Closed: 'Closed',
  Internal: 'Internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An expected failure, carried as a value. */
export interface ErrorValue {
  code: ErrorCode;
  message: string;
  /** For InvalidArgument: the offending field, e.g. `dataId` or `dataList[3]`. */
  field?: string;
  /** For NotLeader / SlotMoved: where to retry. */
  leader?: string;
}

/** An {@link ErrorValue} thrown where a caller cannot go on (client API misuse, boot failures). */
export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;

  constructor(value: ErrorValue, options?: { cause?: unknown }) {
    super(value.message, options);
    this.name = 'RegistryError';
    this.code = value.code;
    this.field = value.field;
  }
}
