/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF), the
 * checksum of iSCSI, ext4, gRPC and Guava's `Hashing.crc32c()`. Table driven, one table lookup per byte.
 */

const POLY = 0x82f63b78;

/** The 256-entry lookup table of the byte-at-a-time algorithm. */
const TABLE: Int32Array = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** The ASCII code of `?`, which Java writes for an unpaired surrogate when encoding to UTF-8. */
const QUESTION_MARK = 0x3f;

/**
 * The CRC-32C of a string's UTF-8 bytes, as an unsigned 32-bit number (0 .. 2^32-1).
 *
 * The bytes are those of Java's `String.getBytes(StandardCharsets.UTF_8)`, so results match SOFARegistry
 * for every string: well-formed text encodes as standard UTF-8 (surrogate pairs as 4 bytes), and an
 * unpaired surrogate becomes `?` (0x3F), where Node's `Buffer.from` and `TextEncoder` would write U+FFFD.
 * Encodes on the fly: no allocation.
 */
export function crc32cOfString(text: string): number {
  const t = TABLE;
  let crc = -1;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      crc = t[(crc ^ c) & 0xff] ^ (crc >>> 8);
      continue;
    }
    if (c < 0x800) {
      crc = t[(crc ^ (0xc0 | (c >> 6))) & 0xff] ^ (crc >>> 8);
      crc = t[(crc ^ (0x80 | (c & 0x3f))) & 0xff] ^ (crc >>> 8);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = ((c - 0xd800) << 10) + (next - 0xdc00) + 0x10000;
        i++;
        crc = t[(crc ^ (0xf0 | (c >> 18))) & 0xff] ^ (crc >>> 8);
        crc = t[(crc ^ (0x80 | ((c >> 12) & 0x3f))) & 0xff] ^ (crc >>> 8);
        crc = t[(crc ^ (0x80 | ((c >> 6) & 0x3f))) & 0xff] ^ (crc >>> 8);
        crc = t[(crc ^ (0x80 | (c & 0x3f))) & 0xff] ^ (crc >>> 8);
      } else {
        crc = t[(crc ^ QUESTION_MARK) & 0xff] ^ (crc >>> 8);
      }
      continue;
    }
    crc = t[(crc ^ (0xe0 | (c >> 12))) & 0xff] ^ (crc >>> 8);
    crc = t[(crc ^ (0x80 | ((c >> 6) & 0x3f))) & 0xff] ^ (crc >>> 8);
    crc = t[(crc ^ (0x80 | (c & 0x3f))) & 0xff] ^ (crc >>> 8);
  }
  return ~crc >>> 0;
}

/** The CRC-32C of raw bytes, as an unsigned 32-bit number (0 .. 2^32-1). */
export function crc32cOfBytes(bytes: Uint8Array): number {
  const t = TABLE;
  let crc = -1;
  for (let i = 0; i < bytes.length; i++) crc = t[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

/**
 * The CRC-32C of a string's UTF-8 bytes (see {@link crc32cOfString}) or of raw bytes, as an unsigned
 * 32-bit number. Check value: `crc32c('123456789') === 0xe3069283`.
 */
export function crc32c(data: string | Uint8Array): number {
  return typeof data === 'string' ? crc32cOfString(data) : crc32cOfBytes(data);
}
