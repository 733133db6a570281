// @sofareg/raft/testing: test doubles and harnesses for specs, benchmarks and simulations only.
export * from './describe';
export * from './datadriven';
export * from './interaction-env';
export * from './kv-state-machine';
// The simulator's seeded clock (a timed event queue), for simulations built on the core in other projects.
export { EventQueue } from '../sim/event-queue';
