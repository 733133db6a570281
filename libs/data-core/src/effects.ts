import type { ErrorInfo } from '@sofareg/contracts';

/** Fetch one page of a slot from a session (a migrating leader's sync, or a digest repair). */
export interface SyncTask {
  session: string;
  slotId: number;
  leaderEpoch: number;
  after: string;
}

/** Fetch a slot's snapshot from its leader. */
export interface SnapshotTask {
  leader: string;
  slotId: number;
  leaderEpoch: number;
}

/** What the shell must do after a call into a core; every core call returns a fresh one. */
export interface Effects {
  /** Datum versions that changed, to notify sessions of. */
  notify: Map<string, number>;
  sync: SyncTask[];
  snapshots: SnapshotTask[];
  /** Followers that have ops to receive. */
  replicateTo: Set<string>;
  /** Followers that answered "not yet" (still installing a snapshot): pump them again after a backoff, not at once. */
  backoff: Set<string>;
}

/** Effects with nothing to do. */
export function emptyEffects(): Effects {
  return { notify: new Map(), sync: [], snapshots: [], replicateTo: new Set(), backoff: new Set() };
}

/** An expected outcome as a value: a stable `code`, what to do, and (for SlotMoved) the leader to ask. */
export function coreError(code: string, message: string, leader = ''): ErrorInfo {
  return { code, message, field: '', leader };
}
