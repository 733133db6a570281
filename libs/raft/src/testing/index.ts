// @sofareg/raft/testing: test doubles and harnesses for specs, benchmarks and simulations only.
export * from './describe';
export * from './datadriven';
export * from './interaction-env';
export * from './kv-state-machine';
// The core's internal classes, so a planted-bug test can swap one method of the real code for a buggy copy (and
// restore it) to prove that a simulation catches the bug. Not an API: their members are private to the core.
export { Raft } from '../core/raft';
export { RaftLog } from '../core/log';
