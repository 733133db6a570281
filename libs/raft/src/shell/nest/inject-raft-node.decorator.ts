import { Inject } from '@nestjs/common';
import { RAFT_NODE } from './raft.tokens';

/** Parameter decorator injecting the module's {@link RaftNode}: `@InjectRaftNode() node: RaftNode`. */
export const InjectRaftNode = (): ParameterDecorator & PropertyDecorator => Inject(RAFT_NODE);
