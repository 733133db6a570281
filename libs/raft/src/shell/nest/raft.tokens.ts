/** Injection token of the started {@link RaftNode} that `RaftModule` provides. */
export const RAFT_NODE = Symbol('sofareg.RaftNode');
