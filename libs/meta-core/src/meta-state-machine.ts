import { EMPTY_META_STATE, MetaChange, MetaCommand, MetaStateValue, allChanges, applyMetaCommand } from './meta-state';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Serializes a command into the bytes of a replicated log entry (JSON). */
export function encodeMetaCommand(cmd: MetaCommand): Uint8Array {
  return enc.encode(JSON.stringify(cmd));
}

/** Reads a command back from the bytes of a log entry written by {@link encodeMetaCommand}. */
export function decodeMetaCommand(data: Uint8Array): MetaCommand {
  return JSON.parse(dec.decode(data)) as MetaCommand;
}

/**
 * Meta's replicated state machine, pure: committed commands applied with `applyMetaCommand`; a snapshot is the
 * JSON of the whole state. Every apply and restore that changes something is reported to `onApplied`, in log
 * order. The Raft shell (and the simulation) call {@link applyEntry} for every committed index, in order,
 * passing `undefined` data for entries that are not commands (a leader's empty entry, a membership change) so
 * the applied index stays exact.
 */
export class MetaStateMachine {
  state: MetaStateValue = EMPTY_META_STATE;
  appliedIndex = 0;

  constructor(private readonly onApplied: (changes: MetaChange[]) => void) {}

  /** Applies the entry at `index`; returns what changed ([] for a no-op or a non-command entry). */
  applyEntry(index: number, data: Uint8Array | undefined): MetaChange[] {
    this.appliedIndex = index;
    if (!data || data.length === 0) return [];
    const { state, changes } = applyMetaCommand(this.state, decodeMetaCommand(data));
    this.state = state;
    if (changes.length > 0) this.onApplied(changes);
    return changes;
  }

  /** The whole state and applied index as bytes. */
  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify({ index: this.appliedIndex, state: this.state }));
  }

  /** Replaces the whole state with a snapshot's; reports every part of the state as changed. */
  restore(data: Uint8Array): void {
    const img = JSON.parse(dec.decode(data)) as { index: number; state: MetaStateValue };
    this.state = img.state;
    this.appliedIndex = img.index;
    this.onApplied(allChanges(this.state));
  }
}
