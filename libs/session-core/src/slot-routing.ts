import { slotOf } from '@sofareg/consistent-hash';
import type { SlotTable, WriteResult } from '@sofareg/contracts';

/** A data server leading a slot under a table newer than the session's own. */
export interface LeaderHint {
  readonly epoch: number;
  readonly leader: string;
}

/** What routing needs of a queued op: its dataInfoId, and its slot cached for the table's slot count. */
export interface RoutedOp {
  readonly dataInfoId: string;
  /** The op's slot under `slotCount` slots (a crc32c of the dataInfoId, computed once per slot count). */
  slot: number;
  /** The slot count `slot` was computed for (0: not yet). */
  slotCount: number;
}

/** Result codes after which a write is sent again (the slot moved, its leader is starting or unreachable). */
export const WRITE_RETRY_CODES: ReadonlySet<string> = new Set(['SlotMoved', 'NotReady', 'StaleEpoch', 'Unavailable']);

/**
 * Which data server each write and read of a slot goes to. Pure: the slot table is passed to every call.
 *
 * The write-hint invariant: once a data server leading a slot under a newer table than ours has read this
 * session's publishers of it ({@link hint}), every later write and read of that slot goes to it, until our own
 * table catches up with that epoch. Otherwise a write could land only on the old leader after the new one took
 * its copy. Callers re-check an op's leader ({@link split}) as it leaves its queue, so a queued op never lands
 * on a server that stopped leading its slot while the op waited.
 */
export class SlotRouting {
  private readonly hints = new Map<number, LeaderHint>();

  /** The leader of `slot`: a hint newer than `table`, else the table's leader; undefined when none. */
  leaderOfSlot(table: SlotTable | undefined, slot: number): string | undefined {
    if (!table || table.slots.length === 0) return undefined;
    const hint = this.hints.get(slot);
    if (hint && hint.epoch > table.epoch) return hint.leader;
    return table.slots[slot]?.leader || undefined;
  }

  /** The leader of a dataInfoId's slot (see {@link leaderOfSlot}). */
  leaderOf(table: SlotTable | undefined, dataInfoId: string): string | undefined {
    if (!table || table.slots.length === 0) return undefined;
    return this.leaderOfSlot(table, slotOf(dataInfoId, table.slotCount));
  }

  /** The leader of an op's slot; recomputes the op's cached slot when the slot count changed. */
  route(table: SlotTable | undefined, op: RoutedOp): string | undefined {
    if (!table || table.slots.length === 0) return undefined;
    if (op.slotCount !== table.slotCount) {
      op.slot = slotOf(op.dataInfoId, table.slotCount);
      op.slotCount = table.slotCount;
    }
    return this.leaderOfSlot(table, op.slot);
  }

  /** Splits ops queued for `leader` into those it still leads and those whose slot moved meanwhile. */
  split<T extends RoutedOp>(table: SlotTable | undefined, leader: string, ops: Iterable<T>): { stay: T[]; moved: T[] } {
    const stay: T[] = [];
    const moved: T[] = [];
    for (const op of ops) (this.route(table, op) === leader ? stay : moved).push(op);
    return { stay, moved };
  }

  /**
   * A data server leading `slot` under table `epoch` is reading this session's publishers. Returns true when
   * this changes where the slot's writes go (queued ops must then be re-routed). A hint not newer than
   * `table`, or than the slot's current hint, is ignored.
   */
  hint(table: SlotTable | undefined, slot: number, epoch: number, leader: string): boolean {
    if (!leader || (table && epoch <= table.epoch)) return false;
    const current = this.hints.get(slot);
    if (current && epoch <= current.epoch) return false;
    this.hints.set(slot, { epoch, leader });
    return true;
  }

  /** A new table: hints it caught up with are dropped (the table now says who leads). */
  onTable(table: SlotTable | undefined): void {
    for (const [slot, h] of this.hints) if (!table || h.epoch <= table.epoch) this.hints.delete(slot);
  }
}

/** Distinct slot leaders of a table (every server a client-off must reach). */
export function leadersOf(table: SlotTable | undefined): string[] {
  return table ? [...new Set(table.slots.map((s) => s.leader).filter(Boolean))] : [];
}

/** Whether a write that ended with `result` is sent again (until its deadline). */
export function shouldRetryWrite(result: WriteResult): boolean {
  return !result.ok && result.error !== undefined && WRITE_RETRY_CODES.has(result.error.code);
}

/**
 * The wait before retry number `attempt` (1-based) of a write: 20·2^attempt ms, at most 1 s, jittered to
 * 50–100 % by `random01` (a value in [0, 1) from the caller's seeded source) so retries of a moved slot spread.
 */
export function writeRetryDelayMs(attempt: number, random01: number): number {
  return Math.min(1_000, 20 * 2 ** Math.min(attempt, 6)) * (0.5 + random01 / 2);
}

/** A failed write result with a stable `code`. */
export function writeFailure(code: string, message: string): WriteResult {
  return { ok: false, error: { code, message, field: '', leader: '' } };
}
