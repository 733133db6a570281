#!/usr/bin/env node
// Proves that the built package works outside the monorepo: packs dist/libs/client with npm, installs the
// tarball into a fresh temporary project (its dependencies come from the npm registry or the local npm
// cache, nothing from this workspace), then
//   1. runs a CommonJS consumer: a client against the in-memory session of ./testing (publish, subscribe,
//      push), a real gRPC dial to a closed port (reconnect events), and the NestJS module;
//   2. runs a consumer against a real cluster (one meta, one data, two sessions started from this workspace on
//      free ports): publish through one session, subscribe through the other, republish, unregister;
//   3. type-checks a TypeScript consumer of '.', './nest' and './testing' with node16 module resolution.
// Usage: node libs/client/tools/verify-package.cjs [--keep]   (run `nx build client` first)
const { execFileSync, spawn } = require('node:child_process');
const readline = require('node:readline');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '../../..');
const dist = path.join(root, 'dist/libs/client');
if (!fs.existsSync(path.join(dist, 'package.json'))) {
  console.error('verify-package: dist/libs/client is missing; run `npx nx build client` first');
  process.exit(1);
}
const rootPkg = require(path.join(root, 'package.json'));
const v = (name) => (rootPkg.dependencies ?? {})[name] ?? (rootPkg.devDependencies ?? {})[name];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sofareg-client-pkg-'));
// Every step has a deadline: a consumer that hangs fails the check instead of stalling CI.
const run = (cmd, args, cwd, env) =>
  execFileSync(cmd, args, {
    cwd,
    env: env ?? process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    timeout: 300_000,
    killSignal: 'SIGKILL',
  });
let cluster;

/** Starts tools/scripts/test-cluster.ts and resolves with its session addresses. */
function startCluster() {
  cluster = spawn(
    process.execPath,
    [path.join(root, 'tools/scripts/run-ts.cjs'), path.join(root, 'tools/scripts/test-cluster.ts')],
    {
      cwd: root,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: cluster.stdout });
    lines.once('line', (line) => resolve(JSON.parse(line).sessions));
    cluster.once('exit', (code) => reject(new Error(`test cluster exited with ${code}`)));
  });
}

/** Stops the cluster (its stdin closing is enough; SIGTERM if it lingers) and waits for it. */
function stopCluster() {
  if (!cluster || cluster.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => cluster.kill('SIGTERM'), 10_000);
    cluster.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    cluster.stdin.end();
  });
}

async function main() {
  try {
    const sessions = startCluster();
    const tarball = run('npm', ['pack', dist, '--pack-destination', tmp, '--json'], tmp);
    const file = path.join(tmp, JSON.parse(tarball)[0].filename);
    console.log(`verify-package: packed ${path.basename(file)} (${fs.statSync(file).size} bytes)`);

    const app = path.join(tmp, 'consumer');
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, version: '0.0.0' }),
    );
    run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        file,
        `@nestjs/common@${v('@nestjs/common')}`,
        `@nestjs/core@${v('@nestjs/core')}`,
        `rxjs@${v('rxjs')}`,
        `@types/node@${v('@types/node')}`,
      ],
      app,
    );

    fs.writeFileSync(
      path.join(app, 'consumer.js'),
      `
const { RegistryClient, CLIENT_VERSION } = require('@sofareg/client');
const { FakeSession, fakeSessionTransport, waitFor } = require('@sofareg/client/testing');
const { RegistryClientModule, REGISTRY_CLIENT } = require('@sofareg/client/nest');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const net = require('node:net');

(async () => {
  // 1. The protocol against an in-memory session.
  const session = new FakeSession();
  const transport = fakeSessionTransport([session]);
  const a = new RegistryClient({ sessionServers: [session.address], appName: 'a', transport });
  const b = new RegistryClient({ sessionServers: [session.address], appName: 'b', transport });
  await a.publish({ dataId: 'svc' }, '10.0.0.1:1').synced();
  const sub = b.subscribe({ dataId: 'svc', scope: 'dataCenter' }, () => {});
  await waitFor(() => sub.peekData() && sub.peekData().zoneData.DEFAULT_ZONE, { message: 'push' });
  try { a.publish({ dataId: '' }); throw new Error('validation did not throw'); }
  catch (e) { if (e.code !== 'InvalidArgument' || e.field !== 'dataId') throw e; }
  await Promise.all([a.close(), b.close()]);

  // 2. The real gRPC transport against a closed port: it must fail and retry.
  const probe = net.createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const port = probe.address().port;
  await new Promise((r) => probe.close(r));
  const c = new RegistryClient({ sessionServers: ['127.0.0.1:' + port], reconnectDelay: () => 10 });
  const seen = [];
  for await (const e of c.status()) { seen.push(e.type); if (seen.filter((t) => t === 'reconnecting').length >= 2) break; }
  await c.close();

  // 3. The NestJS module.
  class AppModule {}
  Module({ imports: [RegistryClientModule.forRoot({ sessionServers: [session.address], transport: fakeSessionTransport([session]) })] })(AppModule);
  const ctx = await NestFactory.createApplicationContext(AppModule, { logger: false });
  const client = ctx.get(REGISTRY_CLIENT);
  await client.ready({ timeoutMs: 5000 });
  await ctx.close();
  if (client.phase !== 'closed') throw new Error('nest module did not close the client');
  console.log('consumer ok: version ' + CLIENT_VERSION + ', grpc status ' + seen.join(' > '));
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    process.stdout.write(run(process.execPath, ['consumer.js'], app));

    fs.writeFileSync(
      path.join(app, 'cluster-consumer.js'),
      `
const { RegistryClient } = require('@sofareg/client');
const { waitFor } = require('@sofareg/client/testing');

(async () => {
  const [s1, s2] = process.env.SESSIONS.split(',');
  const provider = new RegistryClient({ sessionServers: [s1], appName: 'provider' });
  const consumer = new RegistryClient({ sessionServers: [s2], appName: 'consumer' });
  await Promise.all([provider.ready({ timeoutMs: 30000 }), consumer.ready({ timeoutMs: 30000 })]);
  const seen = [];
  const sub = consumer.subscribe({ dataId: 'pkg.check', scope: 'dataCenter' }, (_id, data) => seen.push(Object.values(data.zoneData).flat().sort().join(',')));
  await sub.synced({ timeoutMs: 10000 });
  const pubs = [1, 2, 3].map((i) => provider.publish({ dataId: 'pkg.check' }, '10.0.0.' + i + ':12200'));
  await Promise.all(pubs.map((p) => p.synced({ timeoutMs: 10000 })));
  const all = '10.0.0.1:12200,10.0.0.2:12200,10.0.0.3:12200';
  await waitFor(() => seen.includes(all), { timeoutMs: 10000, message: 'push of the three publishers through the other session' });
  pubs[0].republish('10.0.0.9:12200');
  await waitFor(() => seen.includes('10.0.0.2:12200,10.0.0.3:12200,10.0.0.9:12200'), { timeoutMs: 10000, message: 'push of the republish' });
  await Promise.all(pubs.map((p) => p.unregister()));
  await waitFor(() => seen[seen.length - 1] === '', { timeoutMs: 10000, message: 'empty push after unregister' });
  await Promise.all([provider.close(), consumer.close()]);
  console.log('cluster consumer ok: ' + seen.length + ' pushes through ' + s1 + ' -> ' + s2);
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    const addresses = await sessions;
    process.stdout.write(
      run(process.execPath, ['cluster-consumer.js'], app, { ...process.env, SESSIONS: addresses.join(',') }),
    );

    fs.writeFileSync(
      path.join(app, 'consumer.ts'),
      `
import { RegistryClient, StatusEvent, Publisher, UserDataValue, RegistryError } from '@sofareg/client';
import { RegistryClientModule, InjectRegistryClient, REGISTRY_CLIENT } from '@sofareg/client/nest';
import { FakeSession, fakeSessionTransport } from '@sofareg/client/testing';

const session = new FakeSession();
const client = new RegistryClient({ sessionServers: ['127.0.0.1:9600'], transport: fakeSessionTransport([session]) });
const pub: Publisher = client.publish({ dataId: 'svc' }, 'a:1');
client.subscribe({ dataId: 'svc', scope: 'zone' }, (_id: string, data: UserDataValue) => data.zoneData);
async function watch(): Promise<void> {
  for await (const e of client.status()) {
    const t: StatusEvent['type'] = e.type;
    if (e.type === 'connected') void e.connectId;
    void t;
  }
}
void watch; void pub.synced(); void RegistryClientModule.forRoot({ sessionServers: ['h:1'] });
void InjectRegistryClient; void REGISTRY_CLIENT; void (null as unknown as RegistryError | null);
`,
    );
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'node16',
          moduleResolution: 'node16',
          target: 'es2022',
          noEmit: true,
          types: ['node'],
          experimentalDecorators: true,
        },
        files: ['consumer.ts'],
      }),
    );
    run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
    console.log('verify-package: TypeScript consumer type-checks (node16 resolution, skipLibCheck off)');
    console.log('verify-package: ok');
  } finally {
    await stopCluster();
    if (process.argv.includes('--keep')) console.log(`verify-package: kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
