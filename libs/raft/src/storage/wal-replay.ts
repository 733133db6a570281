import { LogIndex } from './log-index';
import {
  type DecodedFrame,
  FRAME_HEADER_BYTES,
  MAX_PAYLOAD_BYTES,
  PAYLOAD_FIXED_BYTES,
  RecordKind,
  SEGMENT_HEADER_BYTES,
  readFrame,
} from './wal-format';

/**
 * Rebuilds the {@link LogIndex} from the records of the surviving segments, in order, exactly as the
 * writes that produced them changed the log, and reports any record that could not have been written by a
 * correct store (a gap, a decreasing term, an entry below the compaction point) as corruption.
 *
 * When the oldest segments were deleted by compaction, replay starts in the middle of history: it keeps
 * the entries it has seen as a "known suffix" and becomes complete once a compaction or reset record (which
 * compaction always writes, durably, before deleting segments) covers everything before that suffix.
 */
export class LogReplay {
  readonly index: LogIndex;
  private complete: boolean;
  /** The latest compaction point seen: (index, term). */
  private base: { index: number; term: number } | undefined;

  /** @param fromFirstSegment true when the oldest surviving segment is segment 1 (nothing was deleted). */
  constructor(fromFirstSegment: boolean) {
    this.complete = fromFirstSegment;
    this.base = fromFirstSegment ? { index: 0, term: 0 } : undefined;
    this.index = fromFirstSegment ? new LogIndex(0, 0) : new LogIndex(NaN, NaN);
  }

  /** Applies one verified record found at `offset` in segment `seq`; returns why it is inconsistent, if so. */
  apply(f: DecodedFrame, seq: number, offset: number): string | undefined {
    switch (f.kind) {
      case RecordKind.Entry:
        return this.entry(f.index, f.term, seq, offset, f.length);
      case RecordKind.Compact:
        return this.compact(f.index, f.term);
      case RecordKind.Reset:
        return this.reset(f.index, f.term);
      default:
        return `unknown record kind ${f.kind}`;
    }
  }

  /** Why the replayed log is incomplete, or undefined when it is whole. */
  finish(): string | undefined {
    if (this.complete) return undefined;
    return 'the oldest segment starts in the middle of the log and no compaction record covers the entries before it (was a segment deleted by hand?)';
  }

  private entry(i: number, t: number, seq: number, offset: number, length: number): string | undefined {
    const idx = this.index;
    const known = !Number.isNaN(idx.base);
    if (known && i > idx.last + 1) return `entry ${i} leaves a gap after entry ${idx.last}`;
    if (known && i > idx.base) {
      const prev = idx.term(i - 1) as number;
      if (t < prev) return `entry ${i} has term ${t}, below the term ${prev} of entry ${i - 1}`;
      idx.truncateFrom(i);
      idx.push(t, seq, offset, length);
      return undefined;
    }
    if (this.complete) return `entry ${i} is at or below the compaction point ${idx.base}`;
    // Incomplete: the entry rewrites history older than the known suffix; restart the suffix at i.
    if (this.base && i - 1 < this.base.index) return `entry ${i} is below the compaction point ${this.base.index}`;
    if (this.base && i - 1 === this.base.index) {
      if (t < this.base.term) return `entry ${i} has term ${t}, below the compaction point's term ${this.base.term}`;
      idx.reset(i - 1, this.base.term);
      this.complete = true;
    } else {
      idx.reset(i - 1, NaN);
    }
    idx.push(t, seq, offset, length);
    return undefined;
  }

  private compact(upTo: number, t: number): string | undefined {
    if (this.base && upTo < this.base.index)
      return `compaction point ${upTo} is below the earlier one ${this.base.index}`;
    this.base = { index: upTo, term: t };
    const idx = this.index;
    if (Number.isNaN(idx.base) || upTo < idx.base) {
      if (this.complete) return `compaction point ${upTo} is below the log's start ${idx.base}`;
      return undefined; // still unknown entries between the compaction point and the known suffix
    }
    if (upTo > idx.last) return `compaction point ${upTo} is beyond the last entry ${idx.last}`;
    const have = idx.term(upTo);
    if (upTo > idx.base && have !== t)
      return `compaction record says entry ${upTo} has term ${t}, the log says ${have}`;
    idx.compact(upTo, t);
    this.complete = true;
    return undefined;
  }

  private reset(index: number, t: number): string | undefined {
    if (this.base && index < this.base.index)
      return `snapshot point ${index} is below the compaction point ${this.base.index}`;
    this.base = { index, term: t };
    this.index.reset(index, t);
    this.complete = true;
    return undefined;
  }
}

/**
 * After a damaged frame at `pos` in the last segment: the offset of a valid frame written by a later batch
 * than the damaged one, or undefined. A later batch is only ever written after the earlier one was fsynced,
 * so its presence proves the damaged bytes had been acknowledged: that is corruption, not a torn write.
 */
export function findLaterBatch(b: Buffer, pos: number, end: number): number | undefined {
  let y = pos + 1;
  while (y + FRAME_HEADER_BYTES <= end) {
    const len = b.readUInt32LE(y + 4);
    const batchStart = b.readUInt32LE(y + 8);
    if (
      len >= PAYLOAD_FIXED_BYTES &&
      len <= MAX_PAYLOAD_BYTES &&
      y + FRAME_HEADER_BYTES + len <= end &&
      batchStart >= SEGMENT_HEADER_BYTES &&
      batchStart <= y
    ) {
      const f = readFrame(b, y, end);
      if (typeof f !== 'string') {
        if (f.batchStart > pos) return y;
        y += f.length; // a later frame of the same, torn batch
        continue;
      }
    }
    y++;
  }
  return undefined;
}
