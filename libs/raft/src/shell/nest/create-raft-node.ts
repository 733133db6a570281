import { type RaftStorage, createMemoryRaftStorage, openRaftStorage } from '../../storage';
import { GrpcTransport } from '../grpc-transport';
import { parsePeers } from '../peers';
import { RaftNode } from '../raft-node';
import type { RaftModuleOptions } from './raft.module-definition';

/**
 * Builds and starts a node from module options: opens the storage (`dataDir`, or memory), creates the gRPC
 * transport, starts the node. Rejects (closing what it opened) when the storage is corrupt or locked, the
 * address cannot be bound, or an option is invalid — so a bad setup fails the application's boot.
 */
export async function createRaftNode(options: RaftModuleOptions & { isGlobal?: boolean }): Promise<RaftNode> {
  const peers = typeof options.peers === 'string' ? parsePeers(options.peers) : options.peers;
  const storage: RaftStorage = options.dataDir ? await openRaftStorage(options.dataDir) : createMemoryRaftStorage();
  let node: RaftNode;
  try {
    node = new RaftNode({
      ...options.node,
      id: options.id,
      peers,
      join: options.join,
      stateMachine: options.stateMachine,
      storage,
      transport: new GrpcTransport(
        { ...options.transport, listen: options.listen },
        options.logger?.warn.bind(options.logger),
      ),
      logger: options.logger,
    });
  } catch (e) {
    await storage.close();
    throw e;
  }
  await node.start();
  return node;
}
