import { CommonConfig, parsePort, parsePositiveInt, parseRoleConfig } from '@sofareg/server-kit';

/** Session's settings, validated once at boot. */
export interface SessionConfig extends CommonConfig {
  syncPort: number;
  maxConnections: number;
  maxPendingWrites: number;
  writeRetryMs: number;
  maxConnectionBufferBytes: number;
  /** Messages waiting in one client's stream at most before it is disconnected. */
  maxConnectionQueue: number;
  /** New client streams accepted per second (burst: as many at once); more are refused with RESOURCE_EXHAUSTED. */
  maxConnectsPerSecond: number;
  /** A push not acknowledged within this time has failed and is retried. */
  pushAckTimeoutMs: number;
  /** First retry wait of a failed push; doubles per failure up to `pushRetryMaxMs`. */
  pushRetryInitialMs: number;
  pushRetryMaxMs: number;
  /** Consecutive failed pushes that silence a subscriber for `pushBreakerOpenMs`. */
  pushBreakerFailures: number;
  pushBreakerOpenMs: number;
  /** Longest a storm of changes to one dataInfoId is merged before it is pushed. */
  pushMergeMaxMs: number;
  /** Period of the version scan that repairs missed change notifications (0: off). */
  pushScanIntervalMs: number;
}

/** Parses session's flags (see `--help`). */
export function parseSessionConfig(argv?: string[], env?: NodeJS.ProcessEnv): Readonly<SessionConfig> {
  const raw = parseRoleConfig<Record<string, string>>(
    'session',
    { port: 9600, httpPort: 9603 },
    [
      { flag: '--sync-port <port>', description: 'gRPC port for servers (data -> session sync)', default: '9602' },
      { flag: '--max-connections <n>', description: 'client connections accepted at most', default: '20000' },
      { flag: '--max-pending-writes <n>', description: 'writes waiting for the data tier at most', default: '200000' },
      {
        flag: '--write-retry-ms <ms>',
        description: 'how long a write keeps retrying while slots move',
        default: '15000',
      },
      {
        flag: '--max-connection-buffer-bytes <n>',
        description: 'unsent bytes per client before it is disconnected',
        default: String(32 * 1024 * 1024),
      },
      {
        flag: '--max-connection-queue <n>',
        description: 'unsent messages per client before it is disconnected',
        default: '10000',
      },
      {
        flag: '--max-connects-per-second <n>',
        description: 'new client streams accepted per second (and at once)',
        default: '5000',
      },
      {
        flag: '--push-ack-timeout-ms <ms>',
        description: 'a push not acknowledged within this time is retried',
        default: '5000',
      },
      {
        flag: '--push-retry-initial-ms <ms>',
        description: 'first wait before retrying a failed push (doubles per failure)',
        default: '200',
      },
      { flag: '--push-retry-max-ms <ms>', description: 'longest wait between push retries', default: '5000' },
      {
        flag: '--push-breaker-failures <n>',
        description: 'failed pushes in a row that silence a subscriber',
        default: '5',
      },
      {
        flag: '--push-breaker-open-ms <ms>',
        description: 'how long a failing subscriber is silenced',
        default: '30000',
      },
      {
        flag: '--push-merge-max-ms <ms>',
        description: 'longest a storm of changes to one dataInfoId is merged',
        default: '100',
      },
      {
        flag: '--push-scan-interval-ms <ms>',
        description: 'period of the version scan repairing missed changes (0: off)',
        default: '60000',
      },
    ],
    argv,
    env,
  );
  return Object.freeze({
    ...raw,
    syncPort: parsePort('syncPort', raw.syncPort),
    maxConnections: parsePositiveInt('maxConnections', raw.maxConnections),
    maxPendingWrites: parsePositiveInt('maxPendingWrites', raw.maxPendingWrites),
    writeRetryMs: parsePositiveInt('writeRetryMs', raw.writeRetryMs),
    maxConnectionBufferBytes: parsePositiveInt('maxConnectionBufferBytes', raw.maxConnectionBufferBytes),
    maxConnectionQueue: parsePositiveInt('maxConnectionQueue', raw.maxConnectionQueue),
    maxConnectsPerSecond: parsePositiveInt('maxConnectsPerSecond', raw.maxConnectsPerSecond),
    pushAckTimeoutMs: parsePositiveInt('pushAckTimeoutMs', raw.pushAckTimeoutMs),
    pushRetryInitialMs: parsePositiveInt('pushRetryInitialMs', raw.pushRetryInitialMs),
    pushRetryMaxMs: parsePositiveInt('pushRetryMaxMs', raw.pushRetryMaxMs),
    pushBreakerFailures: parsePositiveInt('pushBreakerFailures', raw.pushBreakerFailures),
    pushBreakerOpenMs: parsePositiveInt('pushBreakerOpenMs', raw.pushBreakerOpenMs),
    pushMergeMaxMs: parseNonNegativeInt('pushMergeMaxMs', raw.pushMergeMaxMs),
    pushScanIntervalMs: parseNonNegativeInt('pushScanIntervalMs', raw.pushScanIntervalMs),
  }) as Readonly<SessionConfig>;
}

function parseNonNegativeInt(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(
      `--${name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} must be an integer >= 0, got "${value}"`,
    );
  return n;
}
