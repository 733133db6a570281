// The meta role's decisions and the MetaClient's, pure: no timers, clocks, sockets or files; time and
// randomness are passed in and every decision returns what to do.
export * from './lease-table';
export * from './leader-duties';
export * from './meta-answers';
export * from './meta-client-core';
export * from './meta-client-driver';
export * from './meta-peers';
export * from './meta-state';
export * from './meta-state-machine';
