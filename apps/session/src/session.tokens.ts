/** The session's connection admission (a TokenBucket of new connections a second). */
export const ADMISSION = Symbol('ADMISSION');
/** The GrpcJsTransport serving clients (SessionService, port 9600), or null when none is started. */
export const CLIENT_TRANSPORT = Symbol('CLIENT_TRANSPORT');
