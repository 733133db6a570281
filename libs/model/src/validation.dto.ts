import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Min,
  ValidationError,
  validateSync,
} from 'class-validator';
import { DATA_INFO_ID_SEPARATOR } from './data-info-id';
import { ErrorCode, ErrorValue } from './errors';
import { SCOPES } from './scope';

/** Bounds on one registration; the session enforces them whatever the client did. */
export const REGISTRATION_LIMITS = Object.freeze({
  maxDataIdLength: 512,
  maxInstanceIdLength: 128,
  maxGroupLength: 128,
  maxDataListEntries: 256,
  maxDataEntryLength: 4096,
  maxDataListBytes: 64 * 1024,
  maxAppNameLength: 256,
});

const NO_SEPARATOR = new RegExp(`^(?!.*${DATA_INFO_ID_SEPARATOR}).*$`, 's');
/** A string passes when it has a non-whitespace character (JavaScript's `\s`). Stateless: no `g` flag. */
export const NOT_BLANK = /\S/;

class IdentityDto {
  @IsString()
  @IsNotEmpty()
  @Matches(NOT_BLANK, { message: 'dataId must not be blank' })
  @Matches(NO_SEPARATOR, { message: `dataId must not contain "${DATA_INFO_ID_SEPARATOR}"` })
  @MaxLength(REGISTRATION_LIMITS.maxDataIdLength)
  dataId!: string;

  @IsOptional()
  @IsString()
  @Matches(NO_SEPARATOR, { message: `instanceId must not contain "${DATA_INFO_ID_SEPARATOR}"` })
  @MaxLength(REGISTRATION_LIMITS.maxInstanceIdLength)
  instanceId?: string;

  @IsOptional()
  @IsString()
  @Matches(NO_SEPARATOR, { message: `group must not contain "${DATA_INFO_ID_SEPARATOR}"` })
  @MaxLength(REGISTRATION_LIMITS.maxGroupLength)
  group?: string;

  @IsOptional()
  @IsString()
  @MaxLength(REGISTRATION_LIMITS.maxAppNameLength)
  appName?: string;
}

/**
 * What a publish carries, as validated: the declarative definition of the rules (the NestJS side validates
 * with it). `validatePublish` checks the same rules by hand first and uses this class only for errors.
 */
export class PublishDto extends IdentityDto {
  @IsArray()
  @ArrayMaxSize(REGISTRATION_LIMITS.maxDataListEntries)
  @IsString({ each: true })
  @MaxLength(REGISTRATION_LIMITS.maxDataEntryLength, { each: true })
  dataList!: string[];

  @IsOptional()
  @IsInt()
  @Min(0)
  version?: number;
}

/** What a subscribe carries, as validated; see {@link PublishDto}. */
export class SubscribeDto extends IdentityDto {
  @IsIn(SCOPES as unknown as string[], { message: `scope must be one of: ${SCOPES.join(', ')}` })
  scope!: string;
}

/** What a configurator (provide-data watch) carries, as validated; see {@link PublishDto}. */
export class WatchConfigDto {
  @IsString()
  @IsNotEmpty()
  @Matches(NOT_BLANK, { message: 'key must not be blank' })
  @MaxLength(REGISTRATION_LIMITS.maxDataIdLength)
  key!: string;
}

function firstError(errors: ValidationError[], prefix = ''): ErrorValue | undefined {
  for (const e of errors) {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) {
      const [rule, message] = Object.entries(e.constraints)[0];
      return { code: ErrorCode.InvalidArgument, field, message: `${message} (rule: ${rule})` };
    }
    const nested = firstError(e.children ?? [], field);
    if (nested) return nested;
  }
  return undefined;
}

function validateDto<T extends object>(cls: new () => T, input: unknown): ErrorValue | undefined {
  if (input === null || typeof input !== 'object') {
    return { code: ErrorCode.InvalidArgument, field: '', message: 'registration must be an object' };
  }
  const dto = plainToInstance(cls, input);
  const error = firstError(validateSync(dto, { forbidUnknownValues: false }));
  return error;
}

/**
 * Validates a publish with class-transformer and class-validator (about 50 µs): the reference for the hand-written
 * checks, and where their errors come from. Same contract as `validatePublish`.
 */
export function validatePublishDto(input: unknown): ErrorValue | undefined {
  const error = validateDto(PublishDto, input);
  if (error) return error;
  const list = (input as PublishDto).dataList;
  let bytes = 0;
  for (let i = 0; i < list.length; i++) {
    bytes += Buffer.byteLength(list[i], 'utf8');
    if (bytes > REGISTRATION_LIMITS.maxDataListBytes) {
      return {
        code: ErrorCode.InvalidArgument,
        field: 'dataList',
        message: `dataList must not exceed ${REGISTRATION_LIMITS.maxDataListBytes} bytes in all (rule: maxBytes)`,
      };
    }
  }
  return undefined;
}

/** Validates a subscribe with class-validator; see {@link validatePublishDto}. */
export function validateSubscribeDto(input: unknown): ErrorValue | undefined {
  return validateDto(SubscribeDto, input);
}

/** Validates a configurator registration with class-validator; see {@link validatePublishDto}. */
export function validateWatchConfigDto(input: unknown): ErrorValue | undefined {
  return validateDto(WatchConfigDto, input);
}
