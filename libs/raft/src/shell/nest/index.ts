// NestJS integration of the Raft shell.
export { RaftModule } from './raft.module';
export type { RaftModuleOptions } from './raft.module-definition';
export {
  RAFT_MODULE_OPTIONS,
  RAFT_MODULE_OPTIONS_TYPE,
  RAFT_MODULE_ASYNC_OPTIONS_TYPE,
} from './raft.module-definition';
export { RAFT_NODE } from './raft.tokens';
export { InjectRaftNode } from './inject-raft-node.decorator';
export { createRaftNode } from './create-raft-node';
