import { ErrorCode, ErrorValue } from './errors';
import { isValidPublish, isValidSubscribe, isValidWatchConfig } from './validation-fast-path';
import { validatePublishDto, validateSubscribeDto, validateWatchConfigDto } from './validation.dto';

export { PublishDto, REGISTRATION_LIMITS, SubscribeDto, WatchConfigDto } from './validation.dto';

// The rules are declared once, on the DTO classes. Valid input is recognised by hand-written checks of those
// rules (well under a microsecond, nothing allocated); anything they do not accept goes through
// class-transformer and class-validator (about 50 µs), so every error, and every verdict on odd input, is
// exactly theirs. `validation.property.spec.ts` holds the two paths to the same verdicts on random input.

/**
 * Validates a publish registration. Returns undefined when valid, else the first error (code InvalidArgument),
 * naming the field and the rule: `{ field: 'dataId', message: '... (rule: matches)' }`. Also bounds the total
 * UTF-8 size of dataList (rule: maxBytes). Extra properties are ignored.
 */
export function validatePublish(input: unknown): ErrorValue | undefined {
  return notARegistrationObject(input) ?? (isValidPublish(input) ? undefined : validatePublishDto(input));
}

/**
 * Arrays, Maps, Sets, Dates, binary buffers and promises carry no registration fields, yet class-validator passes
 * some of them: refuse them outright. Any other object (plain, or an instance of the caller's own class) goes on
 * to the rules.
 */
export function notARegistrationObject(input: unknown): ErrorValue | undefined {
  if (input === null || typeof input !== 'object') return undefined; // the rules answer for these
  const wrong =
    Array.isArray(input) ||
    input instanceof Map ||
    input instanceof Set ||
    input instanceof Date ||
    ArrayBuffer.isView(input) ||
    typeof (input as { then?: unknown }).then === 'function';
  return wrong
    ? {
        code: ErrorCode.InvalidArgument,
        field: '',
        message: 'registration must be an object with its fields, not an array, collection, date, buffer or promise',
      }
    : undefined;
}

/** Validates a subscribe registration; see {@link validatePublish}. */
export function validateSubscribe(input: unknown): ErrorValue | undefined {
  return notARegistrationObject(input) ?? (isValidSubscribe(input) ? undefined : validateSubscribeDto(input));
}

/** Validates a configurator registration; see {@link validatePublish}. */
export function validateWatchConfig(input: unknown): ErrorValue | undefined {
  return notARegistrationObject(input) ?? (isValidWatchConfig(input) ? undefined : validateWatchConfigDto(input));
}
