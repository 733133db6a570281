import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { freePort } from '@sofareg/testing';
import { KvStateMachine } from '../../testing/kv-state-machine';
import type { RaftNode } from '../raft-node';
import { RaftModule } from './raft.module';
import { RAFT_NODE } from './raft.tokens';

@Injectable()
class AppStateMachine extends KvStateMachine {}

@Module({ providers: [AppStateMachine], exports: [AppStateMachine] })
class StateModule {}

describe('RaftModule', () => {
  it('starts a node with the injected state machine and stops it on close', async () => {
    const port = await freePort();
    const moduleRef = await Test.createTestingModule({
      imports: [
        RaftModule.forRootAsync({
          imports: [StateModule],
          inject: [AppStateMachine],
          useFactory: (sm: AppStateMachine) => ({
            id: 'solo',
            peers: `solo=127.0.0.1:${port}`,
            stateMachine: sm,
            node: { tickMs: 10 },
            logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
          }),
        }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    const node = app.get<RaftNode>(RAFT_NODE);
    expect(await node.waitForLeader(5_000)).toBe('solo');
    await node.propose(KvStateMachine.encode({ op: 'put', id: 'r', key: 'k', value: 'v' }));
    expect(app.get(AppStateMachine).get('k')).toBe('v');
    await app.close();
    expect(node.state).toBe('stopped');
  });

  it('fails the boot with a clear error for bad peers', async () => {
    await expect(
      Test.createTestingModule({
        imports: [RaftModule.forRoot({ id: 'a', peers: 'a=nohostport', stateMachine: new KvStateMachine() })],
      }).compile(),
    ).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});
