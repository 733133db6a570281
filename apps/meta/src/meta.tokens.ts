/** The {@link MetaStore} this node runs on. */
export const META_STORE = Symbol('sofareg.meta.store');
/** The {@link LeaderDuties} of this node (the pure decisions of the meta leader). */
export const LEADER_DUTIES = Symbol('sofareg.meta.leader-duties');
/** The gRPC transports this node serves (`GrpcJsTransport[]`), handed over by `launchRole`. */
export const META_TRANSPORTS = Symbol('sofareg.meta.transports');
