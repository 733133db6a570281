// The pure Raft core: no clock, timer, randomness or I/O. See libs/raft/README.md.
export * from './types';
export * from './errors';
export * from './random';
export { encodeConfChange, decodeConfChange, applyConfChangeTo, confStateEqual } from './conf-change';
export { VoteResult, majorityCommitIndex, voteResult, hasQuorum } from './quorum';
export { ProgressState } from './progress';
export * from './storage';
export { ReadOnlyOption, CAMPAIGN_TRANSFER } from './raft';
export type { RaftConfig, ProposeResult, ProposeErrorCode, RaftCounters } from './raft';
export * from './raw-node';
export { applyReady, type ReadyIo } from './apply-ready';
