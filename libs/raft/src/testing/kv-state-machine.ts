import { Entry, EntryType } from '../core';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A write to the replicated store; `id` identifies the request (client and sequence number). */
export type KvCommand =
  | { op: 'put'; id: string; key: string; value: string }
  | { op: 'cas'; id: string; key: string; expect: string | null; value: string };

/** The outcome of applying one command. */
export interface KvApplyResult {
  id: string;
  /** put: always true; cas: whether it swapped. */
  ok: boolean;
}

/**
 * A deterministic replicated key-value state machine for tests and the simulator: put, compare-and-swap,
 * and local reads (served after a ReadIndex). Snapshots are JSON.
 */
export class KvStateMachine {
  private data = new Map<string, string>();
  /** Index of the last entry applied (or restored from a snapshot). */
  appliedIndex = 0;

  /** Encodes a command as entry data. */
  static encode(cmd: KvCommand): Uint8Array {
    return enc.encode(JSON.stringify(cmd));
  }

  /** Decodes entry data written by {@link encode}. */
  static decode(data: Uint8Array): KvCommand {
    return JSON.parse(dec.decode(data)) as KvCommand;
  }

  /**
   * Applies one committed entry in log order. Empty and membership entries only advance the index.
   * Throws if entries are applied out of order.
   */
  apply(e: Entry): KvApplyResult | undefined {
    if (e.index !== this.appliedIndex + 1) {
      throw new Error(`KvStateMachine: applying ${e.index} after ${this.appliedIndex}`);
    }
    this.appliedIndex = e.index;
    if (e.type !== EntryType.Normal || e.data.length === 0) return undefined;
    const cmd = KvStateMachine.decode(e.data);
    if (cmd.op === 'put') {
      this.data.set(cmd.key, cmd.value);
      return { id: cmd.id, ok: true };
    }
    const cur = this.data.get(cmd.key) ?? null;
    if (cur !== cmd.expect) return { id: cmd.id, ok: false };
    this.data.set(cmd.key, cmd.value);
    return { id: cmd.id, ok: true };
  }

  /** The value of `key`, or null. */
  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  /** A snapshot of the state (including the applied index). */
  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify({ applied: this.appliedIndex, data: [...this.data.entries()].sort(byKey) }));
  }

  /** Replaces the state with a snapshot taken by {@link snapshot}. */
  restore(snap: Uint8Array): void {
    if (snap.length === 0) {
      this.data = new Map();
      this.appliedIndex = 0;
      return;
    }
    const s = JSON.parse(dec.decode(snap)) as { applied: number; data: [string, string][] };
    this.data = new Map(s.data);
    this.appliedIndex = s.applied;
  }

  /** A canonical string of the contents, to compare replicas. */
  digest(): string {
    return JSON.stringify([...this.data.entries()].sort(byKey));
  }
}

/** Orders entries by key without turning each pair into a string (cheap for large maps). */
function byKey(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
