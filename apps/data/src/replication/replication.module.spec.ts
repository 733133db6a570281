import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { PeerPort } from '@sofareg/data-core';
import { grpc } from '@sofareg/server-kit';
import { ReplicationServer } from './replication-server';
import { ReplicationModule } from './replication.module';
import { PEER_PORT } from './replication.tokens';

const SETTINGS = Symbol('settings');

@Module({ providers: [{ provide: SETTINGS, useValue: { snapshotTimeoutMs: 300 } }], exports: [SETTINGS] })
class SettingsModule {}

describe('ReplicationModule', () => {
  it('forRootAsync takes its options from an injected provider; a peer that does not answer fails the call', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ReplicationModule.forRootAsync({
          imports: [SettingsModule],
          inject: [SETTINGS],
          useFactory: (s: { snapshotTimeoutMs: number }) => ({
            snapshotTimeoutMs: s.snapshotTimeoutMs,
            replicateTimeoutMs: 300,
          }),
        }),
      ],
    }).compile();
    const app = await moduleRef.init();
    try {
      expect(app.get(ReplicationServer)).toBeInstanceOf(ReplicationServer);
      const peers = app.get<PeerPort>(PEER_PORT);
      // Nothing listens on port 1: the snapshot fetch fails within its deadline instead of hanging.
      const answer = await new Promise((resolve) =>
        peers.slotSnapshot('127.0.0.1:1', { slotId: 0, leaderEpoch: 1, follower: 'f:1' }, resolve),
      );
      expect(answer).toBeInstanceOf(Error);
      expect((answer as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      await app.close();
    }
  });
});
