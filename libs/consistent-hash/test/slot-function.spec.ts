import { ConsistentHashError, crc32c, crc32cOfBytes, slotOf, slotOfCrc } from '../src';
import { Prng, seedFor } from './prng';

/** Naive bit-at-a-time CRC-32C: the oracle for the table-driven one. */
function bitwiseCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Java's `Math.abs(int)` on a BigInt model of 32-bit two's complement, then the mask: the oracle. */
function javaSlot(crc: number, slots: number): number {
  const signed = BigInt.asIntN(32, BigInt(crc));
  const abs = BigInt.asIntN(32, signed < 0n ? -signed : signed); // -2^31 overflows back to -2^31
  return Number(BigInt.asUintN(32, abs) & BigInt(slots - 1));
}

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

describe('crc32c', () => {
  it('gives the standard check value for "123456789"', () => {
    expect(crc32c('123456789')).toBe(0xe3069283);
    expect(crc32cOfBytes(utf8('123456789'))).toBe(0xe3069283);
  });

  it('matches published CRC-32C vectors (RFC 3720 B.4)', () => {
    expect(crc32c('')).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('hashes multi-byte UTF-8: 2-, 3- and 4-byte sequences (emoji as one surrogate pair)', () => {
    for (const s of [
      'é',
      'ß#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP',
      '服务.订单#@#实例#@#分组',
      '😀',
      'a😀b🚀c',
      '\u{10ffff}',
      '\u07ff\u0800\uffff',
    ]) {
      expect(crc32c(s)).toBe(bitwiseCrc32c(utf8(s)));
    }
  });

  it('writes an unpaired surrogate as "?" like Java String.getBytes(UTF_8)', () => {
    expect(crc32c('a\ud800b')).toBe(crc32c('a?b'));
    expect(crc32c('a\udc00')).toBe(crc32c('a?'));
    expect(crc32c('\ud83d\ud83d\ude00')).toBe(crc32c('?😀')); // high, then a full pair
    expect(crc32c('\ude00\ud83d')).toBe(crc32c('??'));
  });

  it('agrees with the bitwise oracle and Node UTF-8 on random well-formed strings', () => {
    const rnd = new Prng(seedFor('crc32c random strings', 0xc5c32));
    const pools = [
      [0x20, 0x7f],
      [0x80, 0x800],
      [0x800, 0xd800],
      [0xe000, 0x10000],
      [0x10000, 0x110000],
    ];
    for (let n = 0; n < 2000; n++) {
      let s = '';
      const len = rnd.int(40);
      for (let i = 0; i < len; i++) {
        const [lo, hi] = rnd.pick(pools);
        s += String.fromCodePoint(lo + rnd.int(hi - lo));
      }
      const want = bitwiseCrc32c(utf8(s));
      if (crc32c(s) !== want) throw new Error(`seed ${rnd.seed}: crc32c(${JSON.stringify(s)}) != ${want}`);
    }
  });
});

describe('slotOf', () => {
  it('maps "aaaaaaaaaa" (CRC-32C 0xE7266430, negative as int32) to slot 208 of 256, not crc & 255', () => {
    expect(crc32c('aaaaaaaaaa')).toBe(0xe7266430);
    expect(0xe7266430 | 0).toBeLessThan(0);
    expect(slotOf('aaaaaaaaaa')).toBe(208);
    expect(slotOf('aaaaaaaaaa', 256)).toBe(208);
    expect(0xe7266430 & 255).toBe(48);
  });

  it('sends the input whose CRC-32C is 0x80000000 (-2^31, kept by Java Math.abs) to slot 0', () => {
    // Constructed by solving the CRC's GF(2)-linear system over the choice of 'a' or 'c' at 48 positions.
    const id = 'com.acme.MinInt#@#aaaaccacaacacccacaacacacaacaacaaaaaaaaaaaaaaaaaa#@#DEFAULT_GROUP';
    expect(crc32c(id)).toBe(0x80000000);
    expect(bitwiseCrc32c(utf8(id))).toBe(0x80000000);
    for (const slots of [1, 2, 256, 65536]) expect(slotOf(id, slots)).toBe(0);
  });

  it('applies Java Math.abs semantics, then the mask (slotOfCrc against a BigInt model)', () => {
    const edges = [0, 1, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0xe7266430, 0x12345678, -1, -0x80000000];
    const rnd = new Prng(seedFor('slotOfCrc random', 0xab5));
    const values = [...edges, ...Array.from({ length: 5000 }, () => rnd.int(0x100000000))];
    const wrong: string[] = [];
    for (const slots of [1, 2, 64, 256, 4096, 65536]) {
      for (const v of values) if (slotOfCrc(v, slots) !== javaSlot(v, slots)) wrong.push(`${v}/${slots}`);
    }
    expect(wrong).toEqual([]);
    expect(slotOfCrc(0x80000000, 256)).toBe(0);
    expect(slotOfCrc(0x80000001, 256)).toBe(0xff); // |-2^31+1| = 2^31-1
  });

  it('spreads ids evenly over the slots', () => {
    const counts = new Array(256).fill(0);
    for (let i = 0; i < 64_000; i++) counts[slotOf(`com.acme.Service${i}#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP`)]++;
    expect(Math.min(...counts)).toBeGreaterThan(180); // 250 expected, sd about 16
    expect(Math.max(...counts)).toBeLessThan(320);
  });

  it.each([0, 3, 100, 131072, -256, 2.5, NaN, Infinity])(
    'rejects slots = %p with INVALID_SLOTS naming the argument',
    (slots) => {
      let err: unknown;
      try {
        slotOf('x', slots);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConsistentHashError);
      expect(err).toMatchObject({ code: 'INVALID_SLOTS', field: 'slots' });
      expect((err as Error).message).toMatch(/^slots must be a power of two/);
    },
  );

  it('rejects a non-string id with INVALID_DATA_INFO_ID', () => {
    expect(() => slotOf(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'INVALID_DATA_INFO_ID' }));
  });

  it('is fast: millions of typical ids per second once warm (measured, loosely bounded)', () => {
    const ids = Array.from(
      { length: 10_000 },
      (_, i) => `com.alipay.test.demo.service.Service${i}:1.0#@#DEFAULT_INSTANCE_ID#@#SOFA`,
    );
    let sink = 0;
    let best = 0;
    for (let round = 0; round < 5; round++) {
      const start = process.hrtime.bigint();
      for (let rep = 0; rep < 10; rep++) for (const id of ids) sink += slotOf(id);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      best = Math.max(best, Math.round(100_000 / seconds));
    }
    process.stdout.write(
      `[consistent-hash] slotOf: best ${best} ids/s (${ids[0].length}-char ids), checksum ${sink}\n`,
    );
    expect(best).toBeGreaterThan(250_000); // catches a pathological regression only: shared 2-core machine
  });
});
