/** The process's {@link Metrics}. */
export const METRICS = Symbol('sofareg.metrics');
/** A {@link Readiness}: whether this server serves yet. */
export const READINESS = Symbol('sofareg.readiness');
/** The process's pino logger. */
export const LOGGER = Symbol('sofareg.logger');
/** The role's frozen configuration. */
export const CONFIG = Symbol('sofareg.config');
