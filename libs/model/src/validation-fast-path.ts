/**
 * Hand-written twins of the rules declared on PublishDto, SubscribeDto and WatchConfigDto, without
 * class-transformer or class-validator: no copy of the input, no error objects, no allocation.
 *
 * Contract: each predicate returns true only for input the class-validator path accepts. It returns false for
 * everything that path rejects, and also for a few oddities the class-transformer copy rewrites, which the
 * caller then hands to that path unchanged (see `validation.property.spec.ts` for the list): a top-level
 * array, Set, Map, Date or promise without valid fields, a sparse `dataList` or a Set in its place.
 *
 * How class-transformer's copy is mirrored: it copies own enumerable keys only (`Object.keys`), so a required
 * field counts only when own and enumerable, and an optional field that is not own and enumerable counts as
 * missing. Primitive values and arrays of strings are copied unchanged, so the rules see what we read here.
 */
import { DATA_INFO_ID_SEPARATOR } from './data-info-id';
import { SCOPES } from './scope';
import { NOT_BLANK, REGISTRATION_LIMITS } from './validation.dto';

type Fields = Record<string, unknown>;

const ownEnumerable = Object.prototype.propertyIsEnumerable;
// Every UTF-16 code unit takes at most 3 UTF-8 bytes (a surrogate pair takes 4 for 2 units, a lone surrogate 3).
const MAX_UTF8_BYTES_PER_UNIT = 3;

/** Matches the ValidationExecutor's view of a field the class-transformer copy would not carry. */
function missingFromCopy(input: object, key: string): boolean {
  return !ownEnumerable.call(input, key);
}

/**
 * class-validator's `MaxLength` (validator.js `isLength`): UTF-16 code units, minus surrogate pairs, minus
 * (character, variation selector U+FE0E/U+FE0F) pairs, each counted as validator.js's global regexes do
 * (leftmost, non-overlapping). Only strings longer than `max` code units need the count.
 */
function fitsMaxLength(s: string, max: number): boolean {
  const n = s.length;
  if (n <= max) return true;
  let presentation = 0;
  for (let i = 0; i + 1 < n;) {
    const c = s.charCodeAt(i);
    const d = s.charCodeAt(i + 1);
    if (c !== 0xfe0e && c !== 0xfe0f && (d === 0xfe0e || d === 0xfe0f)) {
      presentation++;
      i += 2;
    } else {
      i++;
    }
  }
  let pairs = 0;
  for (let i = 0; i + 1 < n;) {
    const c = s.charCodeAt(i);
    const d = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
      pairs++;
      i += 2;
    } else {
      i++;
    }
  }
  return n - presentation - pairs <= max;
}

/** Matches(NOT_BLANK); printable ASCII first (never whitespace) spares the regex in the usual case. */
function isNotBlank(s: string): boolean {
  const c = s.charCodeAt(0);
  return (c > 0x20 && c < 0x7f) || NOT_BLANK.test(s);
}

/** IsString, IsNotEmpty, Matches(NOT_BLANK), [Matches(no separator)], MaxLength(max). */
function isRequiredName(input: Fields, key: string, value: unknown, max: number, noSeparator: boolean): boolean {
  return (
    typeof value === 'string' &&
    isNotBlank(value) &&
    (!noSeparator || value.indexOf(DATA_INFO_ID_SEPARATOR) === -1) &&
    fitsMaxLength(value, max) &&
    !missingFromCopy(input, key)
  );
}

/** IsOptional, IsString, [Matches(no separator)], MaxLength(max). */
function isOptionalString(input: Fields, key: string, value: unknown, max: number, noSeparator: boolean): boolean {
  if (value === undefined || value === null) return true;
  if (
    typeof value === 'string' &&
    (!noSeparator || value.indexOf(DATA_INFO_ID_SEPARATOR) === -1) &&
    fitsMaxLength(value, max)
  ) {
    return true;
  }
  return missingFromCopy(input, key);
}

/**
 * class-transformer reads a top-level Map's entries rather than its properties: leave Maps to that path.
 * (Arrays, Sets, Dates, Buffers and promises become values without rules there, which it accepts whatever
 * their fields; checking their fields here is therefore never more lenient.)
 */
function isFieldBag(input: unknown): input is object {
  return input !== null && typeof input === 'object' && !(input instanceof Map);
}

function isIdentity(input: Fields): boolean {
  return (
    isRequiredName(input, 'dataId', input.dataId, REGISTRATION_LIMITS.maxDataIdLength, true) &&
    isOptionalString(input, 'instanceId', input.instanceId, REGISTRATION_LIMITS.maxInstanceIdLength, true) &&
    isOptionalString(input, 'group', input.group, REGISTRATION_LIMITS.maxGroupLength, true) &&
    isOptionalString(input, 'appName', input.appName, REGISTRATION_LIMITS.maxAppNameLength, false)
  );
}

/**
 * IsArray, ArrayMaxSize, IsString and MaxLength on each entry, then the bound on UTF-8 bytes in all.
 * A hole reads as undefined and fails here (class-transformer's copy would drop it): the caller falls back.
 */
function isDataList(input: Fields, list: unknown): boolean {
  if (!Array.isArray(list) || list.length > REGISTRATION_LIMITS.maxDataListEntries) return false;
  let units = 0;
  for (let i = 0; i < list.length; i++) {
    const entry: unknown = list[i];
    if (typeof entry !== 'string' || !fitsMaxLength(entry, REGISTRATION_LIMITS.maxDataEntryLength)) return false;
    units += entry.length;
  }
  if (missingFromCopy(input, 'dataList')) return false;
  if (units * MAX_UTF8_BYTES_PER_UNIT <= REGISTRATION_LIMITS.maxDataListBytes) return true;
  let bytes = 0;
  for (let i = 0; i < list.length; i++) {
    bytes += Buffer.byteLength(list[i] as string, 'utf8');
    if (bytes > REGISTRATION_LIMITS.maxDataListBytes) return false;
  }
  return true;
}

/** IsOptional, IsInt, Min(0). */
function isVersion(input: Fields, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return true;
  return missingFromCopy(input, 'version');
}

function isScope(input: Fields, value: unknown): boolean {
  for (let i = 0; i < SCOPES.length; i++) {
    if (value === SCOPES[i]) return !missingFromCopy(input, 'scope');
  }
  return false;
}

/** True when `validatePublishDto(input)` would return undefined; false when it would return an error (or for the oddities above). */
export function isValidPublish(input: unknown): boolean {
  if (!isFieldBag(input)) return false;
  const fields = input as Fields;
  return isIdentity(fields) && isDataList(fields, fields.dataList) && isVersion(fields, fields.version);
}

/** True when `validateSubscribeDto(input)` would return undefined; see {@link isValidPublish}. */
export function isValidSubscribe(input: unknown): boolean {
  if (!isFieldBag(input)) return false;
  const fields = input as Fields;
  return isIdentity(fields) && isScope(fields, fields.scope);
}

/** True when `validateWatchConfigDto(input)` would return undefined; see {@link isValidPublish}. */
export function isValidWatchConfig(input: unknown): boolean {
  if (!isFieldBag(input)) return false;
  const fields = input as Fields;
  return isRequiredName(fields, 'key', fields.key, REGISTRATION_LIMITS.maxDataIdLength, false);
}
