/** Where one meta node listens. */
export interface MetaPeer {
  /** Raft node id. */
  id: string;
  /** host:port between meta nodes (Raft, 9612). */
  raft: string;
  /** host:port for session and data servers (gRPC MetaService, 9610): what followers name as the leader. */
  grpc: string;
  /** host:port of its HTTP admin (9615): where a follower redirects admin writes. */
  http: string;
}

/** The meta nodes of a cluster, by Raft node id. */
export type MetaPeers = Readonly<Record<string, MetaPeer>>;

/** Default distance of the gRPC and HTTP ports from the Raft port (9612 → 9610 and 9615). */
export const GRPC_PORT_OFFSET = -2;
export const HTTP_PORT_OFFSET = 3;

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** A bad `--peers` value; `code` is stable, the message names the item and shows the expected form. */
export class MetaPeersError extends Error {
  override readonly name = 'MetaPeersError';
  readonly code = 'InvalidArgument';
  readonly field = 'peers';
}

function port(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > 65535) {
    throw new MetaPeersError(`--peers: ${what}: '${text}' is not a port (1-65535)`);
  }
  return n;
}

/** `port` alone (on `host`) or a whole `host:port`. */
function address(part: string, host: string, what: string): string {
  if (HOST_PORT.test(part)) {
    port((HOST_PORT.exec(part) as RegExpExecArray)[2], what);
    return part;
  }
  return `${host}:${port(part, what)}`;
}

/**
 * Parses `--peers`: `id=host:raftPort[/grpc[/http]],…`. The gRPC and HTTP parts are a port (on the same
 * host) or a whole `host:port`; when left out they are derived from the Raft port as the defaults are laid
 * out (gRPC = raft − 2, HTTP = raft + 3: 9612 → 9610, 9615). Examples:
 * `m1=10.0.0.1:9612,m2=10.0.0.2:9612,m3=10.0.0.3:9612` (default ports everywhere) and
 * `m1=127.0.0.1:7012/7010/7015,m2=127.0.0.1:7022/7020/7025` (several nodes on one host).
 * Throws {@link MetaPeersError} naming the bad item, a duplicate id, or a duplicate address.
 */
export function parseMetaPeers(spec: string): MetaPeers {
  const out: Record<string, MetaPeer> = {};
  const seen = new Set<string>();
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new MetaPeersError(`--peers: '${item}' is not id=host:raftPort[/grpcPort[/httpPort]]`);
    const id = item.slice(0, eq).trim();
    const parts = item
      .slice(eq + 1)
      .trim()
      .split('/');
    if (parts.length > 3) throw new MetaPeersError(`--peers: '${item}' has more than raft/grpc/http addresses`);
    const m = HOST_PORT.exec(parts[0]);
    if (!m) throw new MetaPeersError(`--peers: node '${id}': '${parts[0]}' is not host:port (e.g. 127.0.0.1:9612)`);
    const host = m[1];
    const raftPort = port(m[2], `node '${id}' raft`);
    const derived = (offset: number, what: string) => {
      const p = raftPort + offset;
      if (p < 1 || p > 65535) {
        const why = `cannot derive the ${what} port from raft port ${raftPort}; give it`;
        throw new MetaPeersError(`--peers: node '${id}': ${why}`);
      }
      return `${host}:${p}`;
    };
    const peer: MetaPeer = {
      id,
      raft: parts[0],
      grpc: parts[1] ? address(parts[1], host, `node '${id}' grpc`) : derived(GRPC_PORT_OFFSET, 'gRPC'),
      http: parts[2] ? address(parts[2], host, `node '${id}' http`) : derived(HTTP_PORT_OFFSET, 'HTTP'),
    };
    if (id in out) throw new MetaPeersError(`--peers: node id '${id}' appears twice`);
    for (const a of [peer.raft, peer.grpc, peer.http]) {
      if (seen.has(a)) throw new MetaPeersError(`--peers: address ${a} appears twice`);
      seen.add(a);
    }
    out[id] = Object.freeze(peer);
  }
  if (Object.keys(out).length === 0) throw new MetaPeersError('--peers: no node given');
  return Object.freeze(out);
}

/** The inverse of {@link parseMetaPeers}, every address explicit, sorted by id. */
export function formatMetaPeers(peers: MetaPeers): string {
  return Object.keys(peers)
    .sort()
    .map((id) => `${id}=${peers[id].raft}/${peers[id].grpc}/${peers[id].http}`)
    .join(',');
}
