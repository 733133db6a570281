/** The data server's pure core (`DataServerCore`). */
export const DATA_CORE = Symbol('sofareg.data.core');
/** The data-node driver's one I/O port (`DataNodePort`): sessions' sync service and peer data servers. */
export const DATA_NODE_PORT = Symbol('sofareg.data.node-port');
/** The calls to sessions' sync service (`SessionSyncPort`). */
export const SESSION_SYNC_PORT = Symbol('sofareg.data.session-sync-port');
/** Time and timers for the driver (`DriverScheduler`). */
export const DRIVER_SCHEDULER = Symbol('sofareg.data.driver-scheduler');
/** What the driver counts, as metrics (`DriverObserver`). */
export const DRIVER_OBSERVER = Symbol('sofareg.data.driver-observer');
/** The data-node driver (`DataNodeDriver`). */
export const DATA_NODE_DRIVER = Symbol('sofareg.data.node-driver');
/** This data server's registration with meta (`MetaClient`), provided by `MetaClientModule`. */
export { META_CLIENT } from '@sofareg/server-kit';
/** The gRPC transport serving `DataService` (`GrpcJsTransport`). */
export const DATA_TRANSPORT = Symbol('sofareg.data.transport');
