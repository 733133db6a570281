// @sofareg/raft/testing: test doubles and harnesses for specs, benchmarks and simulations only.
export * from './describe';
export * from './datadriven';
export * from './interaction-env';
export * from './kv-state-machine';
