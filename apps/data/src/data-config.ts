import { CommonConfig, parsePositiveInt, parseRoleConfig } from '@sofareg/server-kit';

/** Data's settings, validated once at boot. */
export interface DataConfig extends CommonConfig {
  slots: number;
  replicas: number;
  tombstoneTtlMs: number;
  replicationWaitMs: number;
  digestIntervalMs: number;
  sessionGraceMs: number;
}

/** Parses data's flags (see `--help`). */
export function parseDataConfig(argv?: string[], env?: NodeJS.ProcessEnv): Readonly<DataConfig> {
  const raw = parseRoleConfig<Record<string, string>>(
    'data',
    { port: 9620, httpPort: 9622 },
    [
      { flag: '--slots <n>', description: 'slot count; must match the meta cluster', default: '256' },
      { flag: '--replicas <n>', description: 'replicas per slot; must match the meta cluster', default: '2' },
      { flag: '--tombstone-ttl-ms <ms>', description: 'how long an unpublish tombstone is kept', default: '60000' },
      {
        flag: '--replication-wait-ms <ms>',
        description: 'how long a write waits for its followers before it is acknowledged anyway',
        default: '500',
      },
      {
        flag: '--session-grace-ms <ms>',
        description: "how long a departed session's publishers are kept for its clients to re-register elsewhere",
        default: '10000',
      },
      {
        flag: '--digest-interval-ms <ms>',
        description: 'how often each led slot is compared with every session',
        default: '10000',
      },
    ],
    argv,
    env,
  );
  return Object.freeze({
    ...raw,
    slots: parsePositiveInt('slots', raw.slots),
    replicas: parsePositiveInt('replicas', raw.replicas),
    tombstoneTtlMs: parsePositiveInt('tombstoneTtlMs', raw.tombstoneTtlMs),
    replicationWaitMs: parsePositiveInt('replicationWaitMs', raw.replicationWaitMs),
    digestIntervalMs: parsePositiveInt('digestIntervalMs', raw.digestIntervalMs),
    sessionGraceMs: parsePositiveInt('sessionGraceMs', raw.sessionGraceMs),
  }) as Readonly<DataConfig>;
}
