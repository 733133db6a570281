// Public entry of @sofareg/raft: the pure Raft core (RawNode, Storage, types).
export * from './core';
export * from './storage';
export * from './shell';
