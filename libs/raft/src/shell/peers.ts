import type { NodeId } from '../core';
import { RaftNodeError } from './errors';

/** Where each node of a Raft group listens: node id → `host:port`. */
export type PeerAddresses = Readonly<Record<NodeId, string>>;

const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Throws `InvalidArgument` unless `address` is `host:port` with a port in 1..65535. */
export function checkAddress(address: string, what: string): void {
  const m = HOST_PORT.exec(address);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) {
    throw new RaftNodeError('InvalidArgument', `${what}: '${address}' is not host:port (e.g. 127.0.0.1:9612)`);
  }
}

/**
 * Parses `id=host:port,id=host:port,…` (spaces allowed around items). An item without `=` is its own id
 * (`host:port`). Throws RaftNodeError `InvalidArgument` naming the bad item, or a duplicate id or address.
 */
export function parsePeers(spec: string): PeerAddresses {
  const out: Record<NodeId, string> = {};
  const seen = new Set<string>();
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    const id = (eq < 0 ? item : item.slice(0, eq)).trim();
    const address = (eq < 0 ? item : item.slice(eq + 1)).trim();
    if (!id)
      throw new RaftNodeError('InvalidArgument', `peers: '${item}' has an empty node id (expected id=host:port)`);
    checkAddress(address, `peers: node '${id}'`);
    if (id in out) throw new RaftNodeError('InvalidArgument', `peers: node id '${id}' appears twice`);
    if (seen.has(address)) throw new RaftNodeError('InvalidArgument', `peers: address ${address} appears twice`);
    seen.add(address);
    out[id] = address;
  }
  return Object.freeze(out);
}

/** The inverse of {@link parsePeers}: `id=host:port,…` sorted by id. */
export function formatPeers(peers: PeerAddresses): string {
  return Object.keys(peers)
    .sort()
    .map((id) => `${id}=${peers[id]}`)
    .join(',');
}
