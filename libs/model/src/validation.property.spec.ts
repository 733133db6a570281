/**
 * The hand-written checks against class-validator, on random input. For every generated input:
 * - the fast predicate accepts exactly what the class-validator path accepts, and
 * - validatePublish / validateSubscribe / validateWatchConfig return exactly what that path returns
 *   (the same error object, or the same exception).
 * A few oddities that class-transformer's copy rewrites (a top-level array, Set, Map, Date or promise, a sparse
 * `dataList`, a Set in its place) are left to class-validator by design: for those the fast predicate only has to
 * be sound (never accept what class-validator rejects) and the public result must still be identical.
 *
 * Replay: VALIDATION_SEED=<seed> [VALIDATION_CASES=<n per kind>] [VALIDATION_CASE=<kind>:<index>]
 *   npx jest -c libs/model/jest.config.js validation.property
 */
import { SeededRandom } from './seeded-random';
import { inspect } from 'node:util';
import { ErrorValue } from './errors';
import { notARegistrationObject, validatePublish, validateSubscribe, validateWatchConfig } from './validation';
import { isValidPublish, isValidSubscribe, isValidWatchConfig } from './validation-fast-path';
import {
  REGISTRATION_LIMITS,
  validatePublishDto,
  validateSubscribeDto,
  validateWatchConfigDto,
} from './validation.dto';

const SEED = Number(process.env.VALIDATION_SEED ?? 20261126);
const CASES = Number(process.env.VALIDATION_CASES ?? 0); // 0: the defaults per kind below
const ONLY = process.env.VALIDATION_CASE; // e.g. "publish:1234"

// ---------------------------------------------------------------------------------------------------------
// Seeded randomness: one generator per case, so any case replays alone.

const Rng = SeededRandom;
type Rng = SeededRandom;

function caseSeed(seed: number, kind: string, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ index;
  for (let i = 0; i < kind.length; i++) h = Math.imul(h ^ kind.charCodeAt(i), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------------------------
// Strings

const ASCII = ['a', 'Z', 'q', '0', '9', '.', ':', '-', '_', '/', '?', '=', '&'];
const SPACES = [
  ' ',
  '\t',
  '\n',
  '\r',
  '\v',
  '\f',
  '\u00a0',
  '\u1680',
  '\u2000',
  '\u200a',
  '\u2028',
  '\u2029',
  '\u202f',
  '\u205f',
  '\u3000',
  '\ufeff',
];
const NOT_SPACES = ['\u200b', '\u0085', '\u180e', '\u0000', '\u001f']; // look blank, are not `\s`
const UNICODE = [
  'é',
  '中',
  'ß',
  '😀',
  '👍🏽',
  '\ud83d',
  '\ude00',
  '\ufe0f',
  '\ufe0e',
  'x\ufe0f',
  '😀\ufe0f',
  '\ufe0f\ufe0f',
  '#',
  '@',
  '#@',
  '@#',
];
const ALL = [...ASCII, ...SPACES, ...NOT_SPACES, ...UNICODE, '#@#'];
// Pieces that make validator.js count fewer characters than code units.
const SHRINKING = ['a', '😀', 'x\ufe0f', '\ufe0f', '\ud83d', '\ude00', '中\ufe0e', '😀\ufe0f'];

/** Exactly `units` UTF-16 code units of random pieces (a pair may be cut, leaving a lone surrogate). */
function text(rnd: Rng, units: number, pieces: readonly string[]): string {
  let s = '';
  while (s.length < units && s.length < 64) s += rnd.pick(pieces);
  if (s.length < units) {
    // Long strings: repeat a random block, then scatter a few more pieces, so generation stays cheap.
    s = s.repeat(Math.ceil(units / s.length));
    for (let n = rnd.int(0, 8); n > 0; n--) {
      const at = rnd.int(0, s.length);
      s = s.slice(0, at) + rnd.pick(pieces) + s.slice(at);
    }
  }
  return s.length > units ? s.slice(0, units) : s;
}

/** Around a MaxLength bound: code units at max-1..max+2, or longer strings validator.js may count as ≤ max. */
function boundaryString(rnd: Rng, max: number): string {
  if (rnd.chance(0.5)) return text(rnd, max + rnd.int(-1, 2), rnd.chance(0.7) ? ASCII : ALL);
  return text(rnd, max + rnd.int(1, max + 2), SHRINKING);
}

function withSeparator(rnd: Rng, base: string): string {
  const sep = rnd.pick(['#@#', '#@#', '#@##@#', '##@##']);
  const at = rnd.int(0, base.length);
  const s = base.slice(0, at) + sep + base.slice(at);
  return rnd.chance(0.2) ? s.replace('#@#', rnd.pick(['#\n@#', '#@\r#', '# @#', '#\u2028@#'])) : s;
}

/** A string for a field bounded by `max`: mostly ordinary, else blank, separated, unicode or at the bound. */
function aString(rnd: Rng, max: number): string {
  switch (rnd.int(0, 9)) {
    case 0:
      return '';
    case 1:
      return text(rnd, rnd.int(1, 6), SPACES) + (rnd.chance(0.3) ? rnd.pick(NOT_SPACES) : '');
    case 2:
      return withSeparator(rnd, text(rnd, rnd.int(0, 12), ASCII));
    case 3:
      return text(rnd, rnd.int(1, 40), ALL);
    case 4:
      return boundaryString(rnd, max);
    case 5:
      return text(rnd, rnd.int(1, 3), SPACES) + text(rnd, rnd.int(1, 8), ASCII) + text(rnd, rnd.int(0, 3), SPACES);
    default:
      return text(rnd, rnd.int(1, 24), ASCII);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Values of the wrong kind, and field values

const ABSENT = Symbol('absent');
type Generated = unknown | typeof ABSENT;

function wrongValue(rnd: Rng): unknown {
  switch (rnd.int(0, 15)) {
    case 0:
      return null;
    case 1:
      return undefined;
    case 2:
      return rnd.pick([0, -1, 1, 1.5, NaN, Infinity, -Infinity, -0, 2 ** 53, Number.MAX_VALUE]);
    case 3:
      return rnd.chance(0.5);
    case 4:
      return new String(text(rnd, rnd.int(0, 5), ASCII));
    case 5:
      return [text(rnd, rnd.int(1, 5), ASCII)];
    case 6:
      return {};
    case 7:
      return { value: 'a' };
    case 8:
      return new Date(0);
    case 9:
      return BigInt(rnd.int(0, 9));
    case 10:
      return Symbol('s');
    case 11:
      return () => 'a';
    case 12:
      return new Number(1);
    case 13:
      return [];
    case 14:
      return { length: 1, 0: 'a' };
    default:
      return aString(rnd, 8);
  }
}

function requiredName(rnd: Rng, max: number): Generated {
  if (rnd.chance(0.85)) return rnd.chance(0.75) ? text(rnd, rnd.int(1, 30), ASCII) : aString(rnd, max);
  return rnd.chance(0.3) ? ABSENT : wrongValue(rnd);
}

function optionalString(rnd: Rng, max: number): Generated {
  const r = rnd.next();
  if (r < 0.3) return ABSENT;
  if (r < 0.4) return rnd.pick([undefined, null, '']);
  if (r < 0.9) return rnd.chance(0.7) ? text(rnd, rnd.int(1, 20), ASCII) : aString(rnd, max);
  return wrongValue(rnd);
}

function version(rnd: Rng): Generated {
  const r = rnd.next();
  if (r < 0.3) return ABSENT;
  if (r < 0.75) return rnd.int(0, 1000);
  return rnd.pick([
    null,
    undefined,
    0,
    -0,
    -1,
    1.5,
    NaN,
    Infinity,
    2 ** 31,
    2 ** 53 + 2,
    '1',
    new Number(1),
    1n,
    true,
    [],
  ]);
}

function scope(rnd: Rng): Generated {
  if (rnd.chance(0.8)) return rnd.pick(['zone', 'dataCenter', 'global']);
  return rnd.pick([
    ABSENT,
    'Zone',
    'zone ',
    ' global',
    'datacenter',
    'planet',
    '',
    null,
    undefined,
    1,
    ['zone'],
    new String('zone'),
    { zone: 1 },
  ]);
}

/** An entry count and entries that put the total UTF-8 size near the 64 KiB bound. */
function nearByteBound(rnd: Rng): string[] {
  const char = rnd.pick(['a', 'é', '中', '😀']);
  const bytes = Buffer.byteLength(char, 'utf8');
  const perEntry = Math.floor(REGISTRATION_LIMITS.maxDataEntryLength / (char === '😀' ? 1 : 1)); // validator.js counts a pair as one
  const target = REGISTRATION_LIMITS.maxDataListBytes + rnd.int(-8, 8) * (rnd.chance(0.5) ? 1 : 1024);
  const list: string[] = [];
  let left = Math.floor(target / bytes);
  while (left > 0 && list.length < REGISTRATION_LIMITS.maxDataListEntries) {
    const n = Math.min(left, perEntry);
    list.push(char.repeat(n));
    left -= n;
  }
  if (rnd.chance(0.5)) list.push(text(rnd, rnd.int(0, 3), ASCII));
  return list;
}

function dataList(rnd: Rng, exotic: boolean): Generated {
  const r = rnd.next();
  if (exotic && r < 0.5) {
    if (rnd.chance(0.5)) return new Set(['10.0.0.1:1', ...(rnd.chance(0.3) ? [1] : [])]);
    const sparse: unknown[] = new Array(rnd.pick([2, 10, 300]));
    sparse[rnd.int(0, sparse.length - 1)] = rnd.chance(0.8) ? 'a' : 7;
    return sparse;
  }
  if (r < 0.55) return Array.from({ length: rnd.int(0, 4) }, () => `10.0.${rnd.int(0, 255)}.${rnd.int(0, 255)}:12200`);
  if (r < 0.7) return Array.from({ length: rnd.int(1, 4) }, () => aString(rnd, REGISTRATION_LIMITS.maxDataEntryLength));
  if (r < 0.75) return Array.from({ length: REGISTRATION_LIMITS.maxDataListEntries + rnd.int(-1, 1) }, () => 'e');
  if (r < 0.78) return nearByteBound(rnd);
  if (r < 0.9) {
    const list: unknown[] = Array.from({ length: rnd.int(1, 4) }, () => 'a');
    list[rnd.int(0, list.length - 1)] = rnd.pick([1, null, undefined, new String('a'), ['a'], {}, true, '']);
    return list;
  }
  if (r < 0.95) return ABSENT;
  return wrongValue(rnd);
}

// ---------------------------------------------------------------------------------------------------------
// Containers: how the fields sit on the input

type Placement = 'own' | 'nonEnumerable' | 'inherited' | 'getter';

function place(
  rnd: Rng,
  target: Record<string, unknown>,
  proto: Record<string, unknown>,
  key: string,
  value: unknown,
): void {
  const how: Placement = rnd.chance(0.94) ? 'own' : rnd.pick(['nonEnumerable', 'inherited', 'getter']);
  if (how === 'own') target[key] = value;
  else if (how === 'inherited') proto[key] = value;
  else if (how === 'getter')
    Object.defineProperty(target, key, { get: () => value, enumerable: true, configurable: true });
  else Object.defineProperty(target, key, { value, enumerable: false, writable: true, configurable: true });
}

const EXTRA_KEYS = [
  'registerId',
  'requestId',
  'attributes',
  'toString',
  'constructor',
  'hasOwnProperty',
  'valueOf',
  'DataId',
  'data_id',
  'scope',
  'key',
  '0',
  'ключ',
  '🔑',
];

function container(rnd: Rng, fields: Record<string, Generated>): object {
  const proto: Record<string, unknown> = {};
  const shape = rnd.int(0, 19);
  let target: Record<string, unknown>;
  if (shape === 0) target = Object.create(null);
  else if (shape === 1) target = new (class Registration {})() as Record<string, unknown>;
  else target = Object.create(proto);
  for (const [key, value] of Object.entries(fields)) if (value !== ABSENT) place(rnd, target, proto, key, value);
  for (let n = rnd.chance(0.3) ? rnd.int(1, 3) : 0; n > 0; n--) {
    const value = rnd.chance(0.5) ? wrongValue(rnd) : 'x';
    Object.defineProperty(target, rnd.pick(EXTRA_KEYS), {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  if (rnd.chance(0.03)) Object.defineProperty(target, '__proto__', { value: { dataId: 'p' }, enumerable: true });
  if (rnd.chance(0.02))
    return JSON.parse(JSON.stringify(target, (_k, v) => (typeof v === 'bigint' ? String(v) : v)) ?? 'null');
  if (rnd.chance(0.05)) Object.freeze(target);
  return target;
}

function nonObject(rnd: Rng): unknown {
  return rnd.pick([null, undefined, 0, 'dataId', true, 1n, Symbol('r'), () => ({ dataId: 'a', dataList: [] })]);
}

/** Top-level values class-transformer turns into something without rules (or reads as entries). */
function oddTopLevel(rnd: Rng, fields: Record<string, Generated>): object {
  const base = rnd.pick(['array', 'set', 'map', 'date', 'promise', 'thenable', 'buffer'] as const);
  const target: Record<string, unknown> =
    base === 'array'
      ? ([] as unknown as Record<string, unknown>)
      : base === 'set'
        ? (new Set(['a']) as unknown as Record<string, unknown>)
        : base === 'map'
          ? (new Map([['dataId', 'a']]) as unknown as Record<string, unknown>)
          : base === 'date'
            ? (new Date(0) as unknown as Record<string, unknown>)
            : base === 'promise'
              ? (Promise.resolve() as unknown as Record<string, unknown>)
              : base === 'buffer'
                ? (Buffer.from('a') as unknown as Record<string, unknown>)
                : { then: () => undefined };
  if (rnd.chance(0.6)) for (const [key, value] of Object.entries(fields)) if (value !== ABSENT) target[key] = value;
  return target;
}

// ---------------------------------------------------------------------------------------------------------
// The kinds of registration

interface Kind {
  name: 'publish' | 'subscribe' | 'watch';
  cases: number;
  fast: (input: unknown) => boolean;
  reference: (input: unknown) => ErrorValue | undefined;
  validate: (input: unknown) => ErrorValue | undefined;
  fields: (rnd: Rng, exotic: boolean) => Record<string, Generated>;
}

function identity(rnd: Rng): Record<string, Generated> {
  return {
    dataId: requiredName(rnd, REGISTRATION_LIMITS.maxDataIdLength),
    instanceId: optionalString(rnd, REGISTRATION_LIMITS.maxInstanceIdLength),
    group: optionalString(rnd, REGISTRATION_LIMITS.maxGroupLength),
    appName: optionalString(rnd, REGISTRATION_LIMITS.maxAppNameLength),
  };
}

const KINDS: Kind[] = [
  {
    name: 'publish',
    cases: 20_000,
    fast: isValidPublish,
    reference: (input: unknown) => notARegistrationObject(input) ?? validatePublishDto(input),
    validate: validatePublish,
    fields: (rnd, exotic) => ({ ...identity(rnd), dataList: dataList(rnd, exotic), version: version(rnd) }),
  },
  {
    name: 'subscribe',
    cases: 12_000,
    fast: isValidSubscribe,
    reference: (input: unknown) => notARegistrationObject(input) ?? validateSubscribeDto(input),
    validate: validateSubscribe,
    fields: (rnd) => ({ ...identity(rnd), scope: scope(rnd) }),
  },
  {
    name: 'watch',
    cases: 6_000,
    fast: isValidWatchConfig,
    reference: (input: unknown) => notARegistrationObject(input) ?? validateWatchConfigDto(input),
    validate: validateWatchConfig,
    fields: (rnd) => ({ key: requiredName(rnd, REGISTRATION_LIMITS.maxDataIdLength) }),
  },
];

/** One generated input; `odd` when class-transformer's copy rewrites it (see the file comment). */
function generate(kind: Kind, rnd: Rng): { input: unknown; odd: boolean } {
  const r = rnd.next();
  if (r < 0.02) return { input: nonObject(rnd), odd: false };
  if (r < 0.04) return { input: oddTopLevel(rnd, kind.fields(rnd, false)), odd: true };
  if (kind.name === 'publish' && r < 0.06) return { input: container(rnd, kind.fields(rnd, true)), odd: true };
  return { input: container(rnd, kind.fields(rnd, false)), odd: false };
}

// ---------------------------------------------------------------------------------------------------------

type Outcome = { returned: ErrorValue | undefined } | { threw: string };

function outcome(run: () => ErrorValue | undefined): Outcome {
  try {
    return { returned: run() };
  } catch (e) {
    return { threw: `${(e as Error)?.constructor?.name}: ${(e as Error)?.message}` };
  }
}

function describeInput(input: unknown): string {
  return inspect(input, { depth: 3, showHidden: true, maxStringLength: 80, maxArrayLength: 8, breakLength: Infinity });
}

describe(`registration validation: hand-written checks against class-validator (seed ${SEED})`, () => {
  it.each(KINDS.map((k) => [k.name, k] as const))('%s: same verdicts and errors on random input', (_name, kind) => {
    const cases = CASES || kind.cases;
    const [onlyKind, onlyIndex] = ONLY ? ONLY.split(':') : [];
    const rules = new Map<string, number>();
    let accepted = 0;
    let odd = 0;
    let oddLeftToClassValidator = 0;
    let longButValid = 0;
    for (let i = 0; i < cases; i++) {
      if (ONLY && (onlyKind !== kind.name || Number(onlyIndex) !== i)) continue;
      const rnd = new Rng(caseSeed(SEED, kind.name, i));
      const { input, odd: isOdd } = generate(kind, rnd);
      const fail = (what: string): never => {
        throw new Error(
          `${what}\n  replay: VALIDATION_SEED=${SEED} VALIDATION_CASE=${kind.name}:${i}\n  input: ${describeInput(input)}`,
        );
      };
      const fast = notARegistrationObject(input) ? false : kind.fast(input);
      const expected = outcome(() => kind.reference(input));
      const actual = outcome(() => kind.validate(input));
      if (
        JSON.stringify(actual) !== JSON.stringify(expected) ||
        Object.keys(actual).join() !== Object.keys(expected).join()
      ) {
        fail(
          `result differs: class-validator ${JSON.stringify(expected)}, validate${kind.name} ${JSON.stringify(actual)}`,
        );
      }
      const referenceAccepts = 'returned' in expected && expected.returned === undefined;
      if (fast && !referenceAccepts)
        fail(`fast path accepts what class-validator rejects: ${JSON.stringify(expected)}`);
      if (isOdd) {
        odd++;
        if (fast !== referenceAccepts) oddLeftToClassValidator++;
        continue;
      }
      if ('threw' in expected) return fail(`class-validator threw on ordinary input: ${expected.threw}`);
      if (fast !== referenceAccepts) fail(`fast path rejects what class-validator accepts`);
      const error = expected.returned;
      if (!error) {
        accepted++;
        const name = (input as { dataId?: unknown; key?: unknown })[kind.name === 'watch' ? 'key' : 'dataId'];
        if (typeof name === 'string' && name.length > REGISTRATION_LIMITS.maxDataIdLength) longButValid++;
      } else {
        const rule = /\(rule: (\w+)\)$/.exec(error.message)?.[1] ?? 'object';
        const key = `${error.field}:${rule}`;
        rules.set(key, (rules.get(key) ?? 0) + 1);
      }
    }
    const summary = [...rules]
      .sort()
      .map(([k, n]) => `${k}=${n}`)
      .join(' ');
    console.log(
      `seed ${SEED} ${kind.name}: ${cases} cases, ${accepted} valid (${longButValid} with a name over the bound in code units), ${odd} odd (${oddLeftToClassValidator} accepted only by class-validator), rejections by field:rule ${summary}`,
    );
    if (ONLY) return;
    // Every rule was exercised, so agreement means something.
    // Every rule that can be reported first was reported, so agreement means something. (class-validator reports
    // the rule declared last first: a dataId of 42 fails MaxLength before IsString, so isString never shows.)
    const expectedRules: Record<Kind['name'], string[]> = {
      publish: [
        ':object',
        'dataId:matches',
        'dataId:maxLength',
        'instanceId:matches',
        'instanceId:maxLength',
        'group:matches',
        'group:maxLength',
        'appName:maxLength',
        'dataList:arrayMaxSize',
        'dataList:maxLength',
        'dataList:maxBytes',
        'version:isInt',
        'version:min',
      ],
      subscribe: [
        ':object',
        'dataId:matches',
        'dataId:maxLength',
        'instanceId:matches',
        'instanceId:maxLength',
        'group:matches',
        'group:maxLength',
        'appName:maxLength',
        'scope:isIn',
      ],
      watch: [':object', 'key:matches', 'key:maxLength'],
    };
    for (const rule of expectedRules[kind.name]) expect([rule, rules.has(rule)]).toEqual([rule, true]);
    expect(accepted).toBeGreaterThan(cases / 10);
    // Valid names longer than the bound in code units: validator.js's counting was exercised on both sides.
    expect(longButValid).toBeGreaterThan(0);
    expect(rules.get(`${kind.name === 'watch' ? 'key' : 'dataId'}:maxLength`)).toBeGreaterThan(0);
  });
});

describe('registration validation: pinned cases of the hand-written checks', () => {
  const ok = { dataId: 'com.acme.Orders', dataList: ['10.0.0.1:12200'] };

  it.each([
    [
      'a dataId of 513 code units that validator.js counts as 512 (a surrogate pair)',
      true,
      { ...ok, dataId: 'a'.repeat(510) + '😀' },
    ],
    ['a dataId of 513 plain characters', false, { ...ok, dataId: 'a'.repeat(513) }],
    [
      'a dataId of 513 code units ending in a variation selector pair',
      true,
      { ...ok, dataId: 'a'.repeat(511) + 'x\ufe0f' },
    ],
    [
      'a dataId of 514 code units with a lone variation selector after another',
      false,
      { ...ok, dataId: 'a'.repeat(511) + '\ufe0f\ufe0f' + 'b' },
    ],
    ['a dataId that looks blank but is not whitespace (zero-width space)', true, { ...ok, dataId: '\u200b' }],
    ['a dataId of no-break spaces', false, { ...ok, dataId: '\u00a0\u3000\ufeff' }],
    ['a separator split by a newline', true, { ...ok, dataId: 'a#\n@#b' }],
    ['a separator after a newline', false, { ...ok, dataId: 'a\n#@#b' }],
    ['a watch key containing the separator (allowed there)', true, { key: 'a#@#b' }],
    ['a dataList of exactly 64 KiB', true, { ...ok, dataList: new Array(16).fill('a'.repeat(4096)) }],
    ['a dataList of 64 KiB and one byte', false, { ...ok, dataList: [...new Array(16).fill('a'.repeat(4096)), 'b'] }],
    [
      'a dataList of 21,845 three-byte characters (64 KiB less one byte)',
      true,
      { ...ok, dataList: [...new Array(5).fill('中'.repeat(4096)), '中'.repeat(1365)] },
    ],
    [
      'a dataList of 21,846 three-byte characters (over 64 KiB)',
      false,
      { ...ok, dataList: [...new Array(5).fill('中'.repeat(4096)), '中'.repeat(1366)] },
    ],
    [
      'an inherited dataId (class-transformer copies own keys only)',
      false,
      Object.assign(Object.create({ dataId: 'a' }), { dataList: [] }),
    ],
    [
      'a non-enumerable dataList',
      false,
      Object.defineProperty({ dataId: 'a' }, 'dataList', { value: [], enumerable: false }),
    ],
    ['an inherited invalid group (counts as missing)', true, Object.assign(Object.create({ group: 'a#@#b' }), ok)],
  ])('%s: valid=%s for the fast path and for class-validator', (_what, valid, input) => {
    const watch = 'key' in input;
    expect((watch ? isValidWatchConfig : isValidPublish)(input)).toBe(valid);
    expect((watch ? validateWatchConfigDto : validatePublishDto)(input) === undefined).toBe(valid);
  });

  it('leaves a sparse dataList to class-validator, which compacts it and then fails counting bytes', () => {
    const input = { dataId: 'a', dataList: [, 'b'] }; // eslint-disable-line no-sparse-arrays
    expect(isValidPublish(input)).toBe(false);
    // Node's own TypeError, not the test realm's: match the message.
    expect(() => validatePublishDto(input)).toThrow(/"string" argument must be of type string/);
    expect(() => validatePublish(input)).toThrow(/"string" argument must be of type string/);
  });

  it('accepts a circular extra property, on which class-transformer overflows the stack', () => {
    const input: Record<string, unknown> = { dataId: 'a', dataList: ['b'] };
    input.self = input;
    expect(validatePublish(input)).toBeUndefined();
    expect(() => validatePublishDto(input)).toThrow(RangeError);
  });
});
