import { status as GrpcStatus } from '@grpc/grpc-js';
import { HttpException } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { ErrorCode } from '@sofareg/model';

/** The gRPC status a failed call answers with. */
export interface GrpcFailure {
  code: GrpcStatus;
  details: string;
  /** True when the error was not one a handler raised on purpose: log it (once) with its stack. */
  unexpected: boolean;
}

/** gRPC status for each stable {@link ErrorCode} thrown as a `RegistryError` (or any error with that `code`). */
export const GRPC_STATUS_OF_ERROR_CODE: Readonly<Record<ErrorCode, GrpcStatus>> = Object.freeze({
  InvalidArgument: GrpcStatus.INVALID_ARGUMENT,
  NotLeader: GrpcStatus.FAILED_PRECONDITION,
  StaleEpoch: GrpcStatus.FAILED_PRECONDITION,
  SlotMoved: GrpcStatus.FAILED_PRECONDITION,
  NotReady: GrpcStatus.UNAVAILABLE,
  Overloaded: GrpcStatus.RESOURCE_EXHAUSTED,
  Blocked: GrpcStatus.PERMISSION_DENIED,
  Unavailable: GrpcStatus.UNAVAILABLE,
  Closed: GrpcStatus.UNAVAILABLE,
  Internal: GrpcStatus.INTERNAL,
});

/**
 * The one mapping from what a handler threw (or its observable errored with) to a gRPC status:
 * - an `RpcException` carrying `{ code, message }` (numeric gRPC code): that status and message;
 *   carrying a string: INTERNAL with it;
 * - any error or object with a numeric gRPC `code` (0..16; a grpc-js `ServiceError`, `{ code, details }`):
 *   that status, with its `details` or `message`;
 * - a validation failure: INVALID_ARGUMENT naming the field: an error with `code: 'InvalidArgument'` and a
 *   `field` (`RegistryError`), an array of class-validator `ValidationError`s, or the `BadRequestException` of
 *   Nest's `ValidationPipe` (its messages start with the property name);
 * - an error with another stable {@link ErrorCode}: the status of {@link GRPC_STATUS_OF_ERROR_CODE};
 * - anything else: INTERNAL with its message, flagged `unexpected`.
 */
export function toGrpcStatus(error: unknown): GrpcFailure {
  if (error instanceof RpcException) {
    const carried = error.getError();
    if (typeof carried === 'string') return { code: GrpcStatus.INTERNAL, details: carried, unexpected: false };
    return toGrpcStatus(carried);
  }
  if (isValidationErrorList(error)) return invalid(error.map(describeValidationError).join('; '));
  if (error instanceof HttpException) return fromHttpException(error);
  if (error !== null && typeof error === 'object') {
    const { code, details, message, field } = error as Partial<Record<ErrorFields, unknown>>;
    const text = typeof details === 'string' && details !== '' ? details : typeof message === 'string' ? message : '';
    if (isGrpcCode(code)) return { code, details: text, unexpected: false };
    if (code === ErrorCode.InvalidArgument) {
      return invalid(typeof field === 'string' && field !== '' ? `${field}: ${text}` : text);
    }
    if (typeof code === 'string' && Object.hasOwn(GRPC_STATUS_OF_ERROR_CODE, code)) {
      return { code: GRPC_STATUS_OF_ERROR_CODE[code as ErrorCode], details: `${code}: ${text}`, unexpected: false };
    }
    return { code: GrpcStatus.INTERNAL, details: text || String(error), unexpected: true };
  }
  return { code: GrpcStatus.INTERNAL, details: String(error), unexpected: true };
}

type ErrorFields = 'code' | 'details' | 'message' | 'field';

function invalid(details: string): GrpcFailure {
  return { code: GrpcStatus.INVALID_ARGUMENT, details, unexpected: false };
}

function isGrpcCode(code: unknown): code is GrpcStatus {
  return Number.isInteger(code) && (code as number) >= GrpcStatus.OK && (code as number) <= GrpcStatus.UNAUTHENTICATED;
}

interface ValidationErrorLike {
  property: string;
  constraints?: Record<string, string>;
  children?: ValidationErrorLike[];
}

function isValidationErrorList(error: unknown): error is ValidationErrorLike[] {
  return Array.isArray(error) && error.length > 0 && error.every((e) => typeof e?.property === 'string');
}

/** `field: first constraint`, descending into nested objects (`address.port: ...`). */
function describeValidationError(error: ValidationErrorLike): string {
  const constraint = Object.values(error.constraints ?? {})[0];
  if (constraint !== undefined || !error.children?.length) return `${error.property}: ${constraint ?? 'is invalid'}`;
  const child = describeValidationError(error.children[0]);
  return `${error.property}.${child}`;
}

function fromHttpException(error: HttpException): GrpcFailure {
  const response = error.getResponse();
  const messages =
    typeof response === 'object' && response !== null ? (response as { message?: unknown }).message : response;
  const text = Array.isArray(messages) ? messages.join('; ') : typeof messages === 'string' ? messages : error.message;
  if (error.getStatus() === 400) return invalid(text);
  return { code: GrpcStatus.INTERNAL, details: text, unexpected: error.getStatus() >= 500 };
}
