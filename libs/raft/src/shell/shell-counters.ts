/** Counters of the shell, monotonic since start. */
export interface ShellCounters {
  proposals: number;
  proposalsApplied: number;
  proposalsRejected: number;
  proposalsTimedOut: number;
  readyBatches: number;
  entriesPersisted: number;
  entriesApplied: number;
  messagesSent: number;
  messagesReceived: number;
  readIndexRequests: number;
  readIndexServed: number;
  readIndexTimedOut: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  leaderChanges: number;
  /** Ticks that came later than half an election timeout (the event loop was stalled). */
  stalls: number;
  /** Time spent making Readies durable, and the number of Readies that wrote (mean fsync wait = sum / count). */
  persistMicros: number;
  persists: number;
}

/** Counters all at zero. */
export function newShellCounters(): ShellCounters {
  return {
    proposals: 0,
    proposalsApplied: 0,
    proposalsRejected: 0,
    proposalsTimedOut: 0,
    readyBatches: 0,
    entriesPersisted: 0,
    entriesApplied: 0,
    messagesSent: 0,
    messagesReceived: 0,
    readIndexRequests: 0,
    readIndexServed: 0,
    readIndexTimedOut: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    leaderChanges: 0,
    stalls: 0,
    persistMicros: 0,
    persists: 0,
  };
}
