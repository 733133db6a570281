import { CommonConfig, parsePort, parsePositiveInt, parseRoleConfig } from '@sofareg/server-kit';

/** Session's settings, validated once at boot. */
export interface SessionConfig extends CommonConfig {
  syncPort: number;
  maxConnections: number;
  maxPendingWrites: number;
  writeRetryMs: number;
  maxConnectionBufferBytes: number;
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
      { flag: '--write-retry-ms <ms>', description: 'how long a write keeps retrying while slots move', default: '15000' },
      { flag: '--max-connection-buffer-bytes <n>', description: 'unsent bytes per client before it is disconnected', default: String(32 * 1024 * 1024) },
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
  }) as Readonly<SessionConfig>;
}
