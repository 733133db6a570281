/** The replication module's options ({@link ReplicationModuleOptions}). */
export const REPLICATION_OPTIONS = Symbol('sofareg.data.replication-options');
/** The pool of clients to peer data servers (one per address). */
export const DATA_PEERS = Symbol('sofareg.data.peers');
/** One Replicate stream per follower (`StreamCallers`). */
export const REPLICATE_CALLERS = Symbol('sofareg.data.replicate-callers');
/** The leader side: a `PeerPort` for the data-node driver. */
export const PEER_PORT = Symbol('sofareg.data.peer-port');
