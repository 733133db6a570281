/**
 * Plain data types of the Raft core. Every type here is a serializable value (numbers, strings, booleans,
 * Uint8Array, arrays, nested plain objects) so a transport can map a {@link Message} 1:1 to protobuf and a
 * storage engine can write entries, hard state and snapshots as they are.
 */

/** A node's stable identity, e.g. `"meta-1"` or `"127.0.0.1:9612"`. The empty string means "none". */
export type NodeId = string;

/** The empty {@link NodeId}: no vote, no leader. */
export const NONE: NodeId = '';

/** What an {@link Entry} carries: application data, or an encoded {@link ConfChange}. */
export enum EntryType {
  Normal = 0,
  ConfChange = 1,
}

/** One log entry. `index` starts at 1; `data` is opaque to the core except for ConfChange entries. */
export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** What must survive a crash besides the log: current term, the vote cast in it, and the commit index. */
export interface HardState {
  term: number;
  /** The node voted for in `term`; '' when none. */
  vote: NodeId;
  commit: number;
}

/** A membership: voters decide elections and commits; learners only receive the log. Disjoint sets. */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

/** Where a snapshot sits in the log, and the membership in force at that index. */
export interface SnapshotMeta {
  index: number;
  term: number;
  conf: ConfState;
}

/** A state machine image covering the log up to `meta.index`. `data` is opaque to the core. */
export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

/**
 * Message kinds. Numbers are stable (the shell maps them to a protobuf enum). `Hup`, `Beat` and `Prop` are
 * local: produced and consumed inside one node and never sent on the wire.
 */
export enum MessageType {
  /** Local: start an election (after the election timeout, or `campaign()`). */
  Hup = 0,
  /** Local: the leader's heartbeat timer fired. */
  Beat = 1,
  /** Reserved for a proposal message; proposals enter through `RawNode.propose` and never travel. */
  Prop = 2,
  /** Leader → follower: append `entries` after (`index`, `logTerm`); `commit` is the leader's commit. */
  App = 3,
  /** Follower → leader: `index` is the new last index (success) or the rejected prev index (`reject`). */
  AppResp = 4,
  /** Candidate → voter: vote for me in `term`; my last log entry is (`index`, `logTerm`). */
  Vote = 5,
  VoteResp = 6,
  /** Leader → follower: install `snapshot`. */
  Snap = 7,
  /** Leader → follower: I am alive; `commit` is min(leader commit, follower match); `context` for reads. */
  Heartbeat = 8,
  HeartbeatResp = 9,
  /** Local/shell: report to the leader that sending a snapshot to `from` failed (`reject`) or finished. */
  SnapStatus = 10,
  /** Leader → transferee: start an election now, ignoring leases (leader transfer). */
  TimeoutNow = 11,
  /** Follower → leader: request a read index for `context`. */
  ReadIndex = 12,
  /** Leader → follower: the read index (`index`) for `context`. */
  ReadIndexResp = 13,
  /** Pre-candidate → voter: would you vote for me in `term` (not yet entered)? */
  PreVote = 14,
  PreVoteResp = 15,
  /** Any → leader: transfer leadership to `from`. */
  TransferLeader = 16,
}

/**
 * One Raft message. A plain object: every field is always present except `snapshot` and `context`.
 * Field meaning depends on `type` (see {@link MessageType}). `term` 0 marks a local message.
 */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** App: term of the entry at `index` (prev). Vote/PreVote: candidate's last log term. AppResp reject: hint term. */
  logTerm: number;
  /**
   * App: prev index. Vote: candidate's last index. AppResp: last index (ok) or rejected index. ReadIndexResp:
   * read index. Heartbeat and HeartbeatResp: the leader's tick when the heartbeat was sent (for leases).
   */
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  /** AppResp reject: the follower's hint index (its last index at or below `index` whose term ≤ `logTerm`). */
  rejectHint: number;
  snapshot?: Snapshot;
  /** Read-index request id (ReadIndex, Heartbeat), or `CAMPAIGN_TRANSFER` on Vote/PreVote during a transfer. */
  context?: Uint8Array;
}

/** Kinds of membership change. `AddVoter` of an existing learner promotes it. */
export enum ConfChangeType {
  AddVoter = 0,
  AddLearner = 1,
  RemoveNode = 2,
}

/** One membership change. `context` is opaque to the core (e.g. the new node's address). */
export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  context?: Uint8Array;
}

/** The role of a node. */
export enum Role {
  Follower = 'Follower',
  PreCandidate = 'PreCandidate',
  Candidate = 'Candidate',
  Leader = 'Leader',
}

/** Volatile state reported in {@link Ready.softState} when it changes. */
export interface SoftState {
  leader: NodeId;
  role: Role;
}

/** A confirmed read index: once the state machine has applied `index`, the read `context` may be served. */
export interface ReadState {
  index: number;
  context: Uint8Array;
}

/** Creates a message with every field defaulted, overridden by `m`. */
export function makeMessage(m: Partial<Message> & Pick<Message, 'type' | 'from' | 'to'>): Message {
  return {
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...m,
  };
}

/** True for the message kinds that are answers (used to drop answers from non-members). */
export function isResponseMessage(t: MessageType): boolean {
  return (
    t === MessageType.AppResp ||
    t === MessageType.VoteResp ||
    t === MessageType.PreVoteResp ||
    t === MessageType.HeartbeatResp ||
    t === MessageType.ReadIndexResp ||
    t === MessageType.SnapStatus
  );
}

/** True for message kinds that only ever stay inside one node. */
export function isLocalMessage(t: MessageType): boolean {
  return t === MessageType.Hup || t === MessageType.Beat || t === MessageType.Prop || t === MessageType.SnapStatus;
}

/** Equality of hard states. */
export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** The empty hard state (a brand-new node). */
export const EMPTY_HARD_STATE: Readonly<HardState> = Object.freeze({ term: 0, vote: NONE, commit: 0 });

/** Approximate wire size of an entry, used for the byte bounds of messages and batches. */
export function entrySize(e: Entry): number {
  return e.data.length + 24;
}
