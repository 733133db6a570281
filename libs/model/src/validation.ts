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
const NOT_BLANK = /\S/;

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

/** What a publish carries, as validated. */
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

/** What a subscribe carries, as validated. */
export class SubscribeDto extends IdentityDto {
  @IsIn(SCOPES as unknown as string[], { message: `scope must be one of: ${SCOPES.join(', ')}` })
  scope!: string;
}

/** What a configurator (provide-data watch) carries, as validated. */
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

function validate<T extends object>(cls: new () => T, input: unknown): ErrorValue | undefined {
  if (input === null || typeof input !== 'object') {
    return { code: ErrorCode.InvalidArgument, field: '', message: 'registration must be an object' };
  }
  const dto = plainToInstance(cls, input);
  const error = firstError(validateSync(dto, { forbidUnknownValues: false }));
  return error;
}

/**
 * Validates a publish registration. Returns undefined when valid, else the first error, naming the field
 * (`dataList[3]` for an entry) and the rule. Also bounds the total size of dataList.
 */
export function validatePublish(input: unknown): ErrorValue | undefined {
  const error = validate(PublishDto, input);
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

/** Validates a subscribe registration; see {@link validatePublish}. */
export function validateSubscribe(input: unknown): ErrorValue | undefined {
  return validate(SubscribeDto, input);
}

/** Validates a configurator registration; see {@link validatePublish}. */
export function validateWatchConfig(input: unknown): ErrorValue | undefined {
  return validate(WatchConfigDto, input);
}
