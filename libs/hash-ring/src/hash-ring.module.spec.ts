import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { HashRingModule } from './hash-ring.module';
import { HashRing } from './hash-ring.service';
import { HASH_RING } from './hash-ring.tokens';
import { InjectHashRing } from './inject-hash-ring.decorator';

@Injectable()
class RoleConfig {
  readonly slots = 64;
  readonly replicas = 3;
}

@Module({ providers: [RoleConfig], exports: [RoleConfig] })
class ConfigModule {}

@Injectable()
class Router {
  constructor(@InjectHashRing() readonly ring: HashRing) {}
}

describe('HashRingModule', () => {
  it('provides one ring, by class and by token, configured by forRoot', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [HashRingModule.forRoot({ slots: 16 })],
      providers: [Router],
    }).compile();
    const ring = moduleRef.get(HashRing);
    expect(ring.settings).toEqual({ slots: 16, replicas: 2 });
    expect(moduleRef.get(HASH_RING)).toBe(ring);
    expect(moduleRef.get(Router).ring).toBe(ring);
  });

  it('takes its options from the role configuration with forRootAsync', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        HashRingModule.forRootAsync({
          imports: [ConfigModule],
          inject: [RoleConfig],
          useFactory: (config: RoleConfig) => ({ slots: config.slots, replicas: config.replicas }),
        }),
      ],
    }).compile();
    expect(moduleRef.get(HashRing).settings).toEqual({ slots: 64, replicas: 3 });
  });

  it('fails the boot for options out of range', async () => {
    const boot = Test.createTestingModule({ imports: [HashRingModule.forRoot({ slots: 3 })] }).compile();
    await expect(boot).rejects.toThrow(/slots must be a power of two/);
  });

  it('completes the changes of the ring when the application closes', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [HashRingModule.forRoot({})] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    let completed = false;
    app.get(HashRing).changes.subscribe({ complete: () => (completed = true) });
    await app.close();
    expect(completed).toBe(true);
  });
});
