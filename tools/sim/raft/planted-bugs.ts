import { type Message, type NodeId, RawNode, type Ready, Role, majorityCommitIndex } from '@sofareg/raft';
import { Raft, RaftLog } from '@sofareg/raft/testing';

/**
 * Known Raft bugs, each planted by swapping one method of the real core for a buggy copy, so a test can prove
 * that the simulation finds it. `plant()` returns the function that restores the real method; call it in a
 * `finally`. Only the lines that make the bug differ from the shipped method.
 */
export interface PlantedBug {
  name: string;
  plant(): () => void;
}

/** The members of the core's private state the buggy copies touch (they are private to TypeScript only). */
interface RaftInternals {
  id: NodeId;
  term: number;
  conf: { voters: NodeId[] };
  progress: Map<NodeId, { match: number }>;
  log: { committed: number; commitTo(i: number): void };
  pendingReadIndex: Message[];
  onCommitted(old: number): void;
  committedEntryInCurrentTerm(): boolean;
  respondReadIndex(from: NodeId, index: number, ctx: Uint8Array): void;
}

function swap<T extends object, K extends keyof T>(proto: T, key: K, buggy: T[K]): () => void {
  const real = proto[key];
  proto[key] = buggy;
  return () => {
    proto[key] = real;
  };
}

const raftProto = Raft.prototype as unknown as RaftInternals & { maybeCommit(): boolean };

/**
 * (a) The leader commits whatever a quorum holds, even an entry of an earlier term (Raft paper §5.4.2,
 * figure 8): a later leader may overwrite it after it was applied.
 */
export const commitWithoutCurrentTermCheck: PlantedBug = {
  name: 'commit rule without the current-term check',
  plant: () =>
    swap(raftProto, 'maybeCommit', function (this: RaftInternals): boolean {
      const mci = majorityCommitIndex(this.conf.voters, (id) => this.progress.get(id)?.match);
      if (mci <= this.log.committed) return false;
      const old = this.log.committed;
      this.log.commitTo(mci);
      this.onCommitted(old);
      return true;
    }),
};

/** (b) A vote is granted whatever the candidate's log: a leader may lack committed entries. */
export const voteWithoutLogCheck: PlantedBug = {
  name: 'vote granted without the log up-to-date check',
  plant: () => swap(RaftLog.prototype, 'isUpToDate', () => true),
};

/**
 * (c) The leader answers a ReadIndex at once, without a heartbeat round confirming that it still leads: a
 * deposed leader serves stale reads.
 */
export const readIndexWithoutQuorum: PlantedBug = {
  name: 'ReadIndex answered without a heartbeat quorum',
  plant: () =>
    swap(
      raftProto as unknown as { handleReadIndexAsLeader(m: Message): void },
      'handleReadIndexAsLeader',
      function (this: RaftInternals, m: Message): void {
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndex.push(m);
          return;
        }
        this.respondReadIndex(m.from, this.log.committed, m.context ?? new Uint8Array(0));
      },
    ),
};

/**
 * (d) A leader that applies entries before its own fsync: the Ready hands out committed entries that are not
 * durable yet and leaves their write to the next Ready, so a crash loses entries that were applied (and whose
 * proposers were answered).
 */
export const applyBeforeFsync: PlantedBug = {
  name: 'leader applies entries before they are fsynced',
  plant: () => {
    const real = RawNode.prototype.ready;
    return swap(RawNode.prototype, 'ready', function (this: RawNode): Ready {
      const rd = real.call(this);
      const firstNew = rd.entries[0]?.index ?? Infinity;
      const last = rd.committedEntries[rd.committedEntries.length - 1]?.index ?? 0;
      if (this.role === Role.Leader && last >= firstNew) rd.entries = [];
      return rd;
    });
  },
};

/** Every planted bug, in the order of the issue that asked for them. */
export const PLANTED_BUGS: readonly PlantedBug[] = [
  commitWithoutCurrentTermCheck,
  voteWithoutLogCheck,
  readIndexWithoutQuorum,
  applyBeforeFsync,
];
