import { CommonConfig, parsePositiveInt, parseRoleConfig } from '@sofareg/server-kit';

/** Meta's settings, validated once at boot. */
export interface MetaConfig extends CommonConfig {
  nodeId: string;
  raftPort: number;
  peers: string;
  leaseMs: number;
  suspectMs: number;
  slots: number;
  replicas: number;
  warmupMs: number;
}

/** Parses meta's flags (see `--help`). */
export function parseMetaConfig(argv?: string[], env?: NodeJS.ProcessEnv): Readonly<MetaConfig> {
  const raw = parseRoleConfig<Record<string, string>>(
    'meta',
    { port: 9610, httpPort: 9615 },
    [
      { flag: '--node-id <id>', description: 'this meta node id (Raft)', default: 'meta-1' },
      { flag: '--raft-port <port>', description: 'gRPC port between meta nodes', default: '9612' },
      { flag: '--peers <list>', description: 'Raft peers id=host:port,... (empty: single node)', default: '' },
      { flag: '--lease-ms <ms>', description: 'a server whose heartbeats stop this long is removed', default: '3000' },
      { flag: '--suspect-ms <ms>', description: 'a server whose watch stream closed and did not reopen this long is removed', default: '1000' },
      { flag: '--slots <n>', description: 'slot count, a power of two, fixed per cluster', default: '256' },
      { flag: '--replicas <n>', description: 'replicas per slot (1-3)', default: '2' },
      { flag: '--warmup-ms <ms>', description: 'wait this long after gaining leadership before moving slots', default: '1000' },
    ],
    argv,
    env,
  );
  const slots = parsePositiveInt('slots', raw.slots);
  if ((slots & (slots - 1)) !== 0) throw new Error(`--slots must be a power of two, got ${slots}`);
  const replicas = parsePositiveInt('replicas', raw.replicas);
  if (replicas > 3) throw new Error(`--replicas must be 1..3, got ${replicas}`);
  return Object.freeze({
    ...raw,
    raftPort: parsePositiveInt('raftPort', raw.raftPort),
    leaseMs: parsePositiveInt('leaseMs', raw.leaseMs),
    suspectMs: parsePositiveInt('suspectMs', raw.suspectMs),
    warmupMs: Number(raw.warmupMs) >= 0 ? Number(raw.warmupMs) : parsePositiveInt('warmupMs', raw.warmupMs),
    slots,
    replicas,
  }) as Readonly<MetaConfig>;
}
