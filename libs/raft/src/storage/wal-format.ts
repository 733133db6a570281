import { crc32 } from 'node:zlib';
import { MAX_ENTRY_BYTES_LIMIT } from './log-store';

/*
 * On-disk format of the write-ahead log (all integers little-endian; checksums are CRC-32, IEEE polynomial,
 * as computed natively by node:zlib).
 *
 * Segment file `<seq, 10 digits>.wal`:
 *   header, 32 bytes: magic "SRGRAFTW" | u32 version (1) | u32 seq | 12 zero bytes | u32 crc of bytes 0..27
 *   then frames, back to back.
 *
 * Frame: u32 crc | u32 len | u32 batchStart | payload (len bytes)
 *   crc covers bytes 4..(12 + len) of the frame: the length, the batch start and the payload, so a damaged
 *   length is caught too. batchStart is the segment offset of the first frame of the write batch the frame
 *   was written in: recovery uses it to tell a torn last batch (crash before its fsync) from damage to
 *   earlier, fsynced data.
 *
 * Payloads (20 bytes + data):
 *   kind 1, entry:    u8 kind | u8 entry type | u16 0 | u64 index | u64 term | data
 *   kind 2, compact:  u8 kind | 3 zero bytes  | u64 index | u64 term   — entries ≤ index dropped
 *   kind 3, reset:    u8 kind | 3 zero bytes  | u64 index | u64 term   — whole log dropped (snapshot installed)
 */

export const SEGMENT_MAGIC = Buffer.from('SRGRAFTW', 'latin1');
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 32;
export const FRAME_HEADER_BYTES = 12;
export const PAYLOAD_FIXED_BYTES = 20;
/** Bytes a record adds to an entry's data. */
export const RECORD_OVERHEAD = FRAME_HEADER_BYTES + PAYLOAD_FIXED_BYTES;
/** Largest payload recovery accepts as plausible. */
export const MAX_PAYLOAD_BYTES = PAYLOAD_FIXED_BYTES + MAX_ENTRY_BYTES_LIMIT;

export enum RecordKind {
  Entry = 1,
  Compact = 2,
  Reset = 3,
}

const SEGMENT_NAME = /^(\d{10})\.wal$/;

/** File name of segment `seq`. */
export function segmentName(seq: number): string {
  return `${String(seq).padStart(10, '0')}.wal`;
}

/** Sequence number of a segment file name, or undefined for other files. */
export function parseSegmentName(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The 32-byte header of segment `seq`. */
export function encodeSegmentHeader(seq: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(b, 0);
  b.writeUInt32LE(SEGMENT_VERSION, 8);
  b.writeUInt32LE(seq, 12);
  b.writeUInt32LE(crc32(b.subarray(0, 28)), 28);
  return b;
}

/** Why a segment header is unusable, or undefined when it is valid for `seq`. */
export function checkSegmentHeader(b: Buffer, seq: number): string | undefined {
  if (b.length < SEGMENT_HEADER_BYTES) return 'segment header is truncated';
  if (!b.subarray(0, 8).equals(SEGMENT_MAGIC)) return 'segment header has a wrong magic number';
  if (b.readUInt32LE(28) !== crc32(b.subarray(0, 28))) return 'segment header checksum mismatch';
  const version = b.readUInt32LE(8);
  if (version !== SEGMENT_VERSION)
    return `segment format version ${version} is not supported (expected ${SEGMENT_VERSION})`;
  const s = b.readUInt32LE(12);
  if (s !== seq) return `segment header says sequence ${s}, the file name says ${seq}`;
  return undefined;
}

function writeU64(b: Buffer, v: number, at: number): void {
  b.writeUInt32LE(v >>> 0, at);
  b.writeUInt32LE(Math.floor(v / 0x1_0000_0000), at + 4);
}

function readU64(b: Buffer, at: number): number {
  return b.readUInt32LE(at + 4) * 0x1_0000_0000 + b.readUInt32LE(at);
}

/**
 * Writes one frame at `at` in `b` and returns its total length. `data` is empty for compact and reset
 * records; `entryType` is 0 for them.
 */
export function writeFrame(
  b: Buffer,
  at: number,
  batchStart: number,
  kind: RecordKind,
  entryType: number,
  index: number,
  term: number,
  data: Uint8Array,
): number {
  const len = PAYLOAD_FIXED_BYTES + data.byteLength;
  b.writeUInt32LE(len, at + 4);
  b.writeUInt32LE(batchStart, at + 8);
  const p = at + FRAME_HEADER_BYTES;
  b[p] = kind;
  b[p + 1] = entryType;
  b[p + 2] = 0;
  b[p + 3] = 0;
  writeU64(b, index, p + 4);
  writeU64(b, term, p + 12);
  b.set(data, p + PAYLOAD_FIXED_BYTES);
  const end = p + len;
  b.writeUInt32LE(crc32(b.subarray(at + 4, end)), at);
  return end - at;
}

/** A frame read back and verified. `dataStart`/`dataEnd` are offsets in the buffer it was read from. */
export interface DecodedFrame {
  kind: number;
  entryType: number;
  index: number;
  term: number;
  batchStart: number;
  /** Total frame length. */
  length: number;
  dataStart: number;
  dataEnd: number;
}

/**
 * Decodes the frame at `at` in `b` (which ends at `end`). Returns the frame, or a string saying why the
 * bytes there are not a valid frame (short, implausible length, checksum mismatch).
 */
export function readFrame(b: Buffer, at: number, end: number): DecodedFrame | string {
  if (end - at < FRAME_HEADER_BYTES) return 'record header is cut short';
  const len = b.readUInt32LE(at + 4);
  if (len < PAYLOAD_FIXED_BYTES || len > MAX_PAYLOAD_BYTES) return `record length ${len} is implausible`;
  const frameEnd = at + FRAME_HEADER_BYTES + len;
  if (frameEnd > end) return `record of ${len} bytes runs past the end of the file`;
  if (b.readUInt32LE(at) !== crc32(b.subarray(at + 4, frameEnd))) return 'record checksum mismatch';
  const p = at + FRAME_HEADER_BYTES;
  return {
    kind: b[p],
    entryType: b[p + 1],
    index: readU64(b, p + 4),
    term: readU64(b, p + 12),
    batchStart: b.readUInt32LE(at + 8),
    length: FRAME_HEADER_BYTES + len,
    dataStart: p + PAYLOAD_FIXED_BYTES,
    dataEnd: frameEnd,
  };
}
