// The I/O shell of @sofareg/raft: a production Raft node around the pure core. See libs/raft/SHELL.md.
export * from './errors';
export * from './state-machine';
export * from './peers';
export * from './transport';
export { LocalNetwork, LocalTransport } from './local-transport';
export { GrpcTransport } from './grpc-transport';
export type { GrpcTransportOptions } from './grpc-transport';
export { messageToProto, messageFromProto } from './proto-codec';
export { encodeSnapshotEnvelope, decodeSnapshotEnvelope } from './snapshot-envelope';
export type { SnapshotEnvelope } from './snapshot-envelope';
export { RaftNode } from './raft-node';
export type {
  RaftNodeOptions,
  RaftNodeStatus,
  RaftNodeState,
  RaftLogger,
  ShellCounters,
  LeaderChange,
} from './raft-node';
export * from './nest';
