import { MAX_SLOT_COUNT, isValidSlotCount } from '@sofareg/consistent-hash';
import { CommonConfig, parsePositiveInt, parseRoleConfig } from '@sofareg/server-kit';
import { MetaPeers, MetaPeersError, parseMetaPeers } from '@sofareg/meta-core';

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
  /** Extra lease a new leader gives every known server, so none is evicted while finding the new leader. */
  takeoverGraceMs: number;
  /** Milliseconds per Raft tick (election timeout is 10–20 ticks, leader heartbeats every tick). */
  raftTickMs: number;
  /**
   * Every member of the Raft group with its Raft, gRPC and HTTP addresses. Without `--peers`: this node
   * alone (a one-member group on `--raft-port`).
   */
  metaPeers: MetaPeers;
}

/** Parses meta's flags (see `--help`). */
export function parseMetaConfig(argv?: string[], env?: NodeJS.ProcessEnv): Readonly<MetaConfig> {
  const raw = parseRoleConfig<Record<string, string>>(
    'meta',
    { port: 9610, httpPort: 9615 },
    [
      { flag: '--node-id <id>', description: 'this meta node id (Raft)', default: 'meta-1' },
      { flag: '--raft-port <port>', description: 'gRPC port between meta nodes', default: '9612' },
      {
        flag: '--peers <list>',
        description:
          'every meta node, id=host:raftPort[/grpcPort[/httpPort]],... (gRPC and HTTP ports default to raft-2 and raft+3); empty: this node alone',
        default: '',
      },
      {
        flag: '--takeover-grace-ms <ms>',
        description: 'extra lease a new meta leader gives every known server',
        default: '2000',
      },
      {
        flag: '--raft-tick-ms <ms>',
        description: 'Raft tick; a leader is replaced 10-20 ticks after it stops',
        default: '50',
      },
      { flag: '--lease-ms <ms>', description: 'a server whose heartbeats stop this long is removed', default: '3000' },
      {
        flag: '--suspect-ms <ms>',
        description:
          'a server whose watch stream closed, and that neither watched nor heartbeat again this long, is removed',
        default: '1500',
      },
      { flag: '--slots <n>', description: 'slot count, a power of two up to 65536, fixed per cluster', default: '256' },
      { flag: '--replicas <n>', description: 'replicas per slot (1-3)', default: '2' },
      {
        flag: '--warmup-ms <ms>',
        description: 'wait this long after gaining leadership before moving slots',
        default: '1000',
      },
    ],
    argv,
    env,
  );
  const slots = parsePositiveInt('slots', raw.slots);
  if (!isValidSlotCount(slots))
    throw new Error(`--slots must be a power of two from 1 to ${MAX_SLOT_COUNT}, got ${slots}`);
  const replicas = parsePositiveInt('replicas', raw.replicas);
  if (replicas > 3) throw new Error(`--replicas must be 1..3, got ${replicas}`);
  const raftPort = parsePositiveInt('raftPort', raw.raftPort);
  const self = `${raw.advertiseHost}`;
  const metaPeers = raw.peers.trim()
    ? parseMetaPeers(raw.peers)
    : parseMetaPeers(`${raw.nodeId}=${self}:${raftPort}/${self}:${raw.port}/${self}:${raw.httpPort}`);
  const mine = metaPeers[raw.nodeId];
  if (!mine)
    throw new MetaPeersError(
      `--peers must list this node '${raw.nodeId}' (--node-id); it lists ${Object.keys(metaPeers).join(', ')}`,
    );
  const portOf = (a: string) => Number(a.slice(a.lastIndexOf(':') + 1));
  if (portOf(mine.grpc) !== Number(raw.port) || portOf(mine.http) !== Number(raw.httpPort)) {
    throw new MetaPeersError(
      `--peers gives node '${raw.nodeId}' gRPC ${mine.grpc} and HTTP ${mine.http}, but it listens on --port ${raw.port} and --http-port ${raw.httpPort}: ` +
        'make them agree (write id=host:raftPort/grpcPort/httpPort)',
    );
  }
  return Object.freeze({
    ...raw,
    raftPort: portOf(mine.raft),
    raftTickMs: parsePositiveInt('raftTickMs', raw.raftTickMs),
    takeoverGraceMs:
      Number(raw.takeoverGraceMs) >= 0
        ? Number(raw.takeoverGraceMs)
        : parsePositiveInt('takeoverGraceMs', raw.takeoverGraceMs),
    metaPeers,
    leaseMs: parsePositiveInt('leaseMs', raw.leaseMs),
    suspectMs: parsePositiveInt('suspectMs', raw.suspectMs),
    warmupMs: Number(raw.warmupMs) >= 0 ? Number(raw.warmupMs) : parsePositiveInt('warmupMs', raw.warmupMs),
    slots,
    replicas,
  }) as Readonly<MetaConfig>;
}
