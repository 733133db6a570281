// The data server's pure cores: slot roles and migration, the replication log, session leases, the datum
// store and change batching, composed by DataServerCore; and the driver that carries out their effects.
export * from './change-batcher';
export * from './data-server-core';
export * from './datum-store';
export * from './effects';
export * from './replication-log';
export * from './session-leases';
export * from './slot-replica';
export * from './slot-roles';
export * from './driver/data-node-driver';
export * from './driver/data-node-port';
export * from './driver/replication-waits';
