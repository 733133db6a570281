import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { RegistryClient } from '@sofareg/client';
import { ServerMessage, SessionServiceClient } from '@sofareg/contracts';
import { LocalCluster, WORKSPACE_ROOT, waitFor } from '@sofareg/testing';
import { record, waitForAddresses } from '../test/harness';

/**
 * Liveness and overload protection of a session, with real processes: a client that goes silent without
 * closing its connection (half-open: here a stopped process) is dropped by gRPC keepalive within 15 s, and a
 * burst of new connections beyond the admission rate is refused (and counted) instead of being queued.
 */
describe('session liveness and admission', () => {
  let cluster: LocalCluster;
  const clients: RegistryClient[] = [];

  beforeAll(async () => {
    cluster = await LocalCluster.start({
      dataServers: 1,
      sessions: 1,
      sessionArgs: ['--max-connects-per-second', '20'],
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stop();
  });

  it('drops a half-open client within 15 s (keepalive), removing its publishers', async () => {
    const id = 'com.acme.Liveness.HalfOpen';
    const watcher = new RegistryClient({ sessionServers: cluster.sessionAddresses, appName: 'watcher' });
    clients.push(watcher);
    const { rec } = record(watcher, id);
    const script = [path.join(WORKSPACE_ROOT, 'tools/scripts/run-ts.cjs'), 'tools/e2e/test/client-process.ts'];
    const child = spawn(process.execPath, [...script, cluster.sessionAddresses[0], id, '10.0.9.1:1'], {
      cwd: WORKSPACE_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      child.stdout?.on('data', (b) => (out += String(b)));
      await waitFor('the child client to publish', () => out.includes('synced'), 30_000);
      await waitForAddresses(rec, ['10.0.9.1:1'], "the child's publisher");
      child.kill('SIGSTOP'); // its sockets stay open, but nothing answers: a half-open connection
      const stoppedAt = Date.now();
      await waitForAddresses(rec, [], 'the silent client dropped', 20_000);
      const tookMs = Date.now() - stoppedAt;
      console.log(`half-open client dropped ${tookMs} ms after it went silent`);
      expect(tookMs).toBeLessThan(15_000);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('refuses connections over the admission rate with RESOURCE_EXHAUSTED and counts them; clients get in on retry', async () => {
    const before = await throttled();
    const codes = await Promise.all(
      Array.from(
        { length: 60 },
        () =>
          new Promise<string>((resolve) => {
            const raw = new SessionServiceClient(cluster.sessionAddresses[0], grpc.credentials.createInsecure(), {
              'grpc.use_local_subchannel_pool': 1,
            });
            const call = raw.connect();
            const done = (what: string) => {
              call.cancel();
              raw.close();
              resolve(what);
            };
            call.on('data', (m: ServerMessage) => m.body?.$case === 'hello' && done('admitted'));
            call.on('error', (e: grpc.ServiceError) => done(grpc.status[e.code]));
            call.write({
              body: {
                $case: 'hello',
                value: {
                  clientId: 'burst',
                  processId: 'p',
                  appName: 'burst',
                  zone: '',
                  dataCenter: '',
                  clientIp: '',
                  clientVersion: '',
                  acceptsBatches: false,
                },
              },
            });
          }),
      ),
    );
    const refused = codes.filter((c) => c === 'RESOURCE_EXHAUSTED').length;
    console.log(
      `admission: ${codes.filter((c) => c === 'admitted').length} admitted, ${refused} refused of a burst of 60 (20/s allowed)`,
    );
    expect(refused).toBeGreaterThanOrEqual(20);
    expect(codes.filter((c) => c !== 'RESOURCE_EXHAUSTED' && c !== 'admitted')).toEqual([]);
    expect((await throttled()) - before).toBe(refused);
    // A real client refused at first backs off and gets in.
    const c = new RegistryClient({ sessionServers: cluster.sessionAddresses, appName: 'after-burst' });
    clients.push(c);
    await c.ready({ timeoutMs: 10_000 });
  });

  async function throttled(): Promise<number> {
    const text = String(await cluster.sessions[0].process.http('/metrics'));
    const line = text.split('\n').find((l) => l.startsWith('sofareg_session_throttled_connections_total'));
    return Number(line?.split(' ').pop() ?? 0);
  }
});
