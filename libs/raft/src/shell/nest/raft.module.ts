import { Inject, Module, type OnModuleDestroy } from '@nestjs/common';
import { RaftNode } from '../raft-node';
import { createRaftNode } from './create-raft-node';
import { RAFT_MODULE_OPTIONS, RaftConfigurableModule, type RaftModuleOptions } from './raft.module-definition';
import { RAFT_NODE } from './raft.tokens';

/**
 * Makes a started {@link RaftNode} injectable (token {@link RAFT_NODE}, or `@InjectRaftNode()`):
 * `RaftModule.forRoot({ id, peers, dataDir, stateMachine })`, or `forRootAsync({ imports, inject, useFactory })`
 * to inject the application's state machine. The node is started while the module is created (so the
 * application boots only with a working node) and stopped, with its storage closed, on module destroy.
 */
@Module({
  providers: [{ provide: RAFT_NODE, useFactory: createRaftNode, inject: [RAFT_MODULE_OPTIONS] }],
  exports: [RAFT_NODE],
})
export class RaftModule extends RaftConfigurableModule implements OnModuleDestroy {
  constructor(@Inject(RAFT_NODE) private readonly node: RaftNode) {
    super();
  }

  /** Stops the node; Nest calls this on `app.close()`. */
  async onModuleDestroy(): Promise<void> {
    await this.node.stop();
  }
}

export type { RaftModuleOptions };
