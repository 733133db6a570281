#!/usr/bin/env node
// Proves that the built package works outside the monorepo: packs dist/libs/client with npm, installs the
// tarball into a fresh temporary project (its dependencies come from the npm registry or the local npm
// cache, nothing from this workspace), then
//   1. runs a CommonJS consumer: a client against the in-memory session of ./testing (publish, subscribe,
//      push), a real gRPC dial to a closed port (reconnect events), and the NestJS module;
//   2. type-checks a TypeScript consumer of '.', './nest' and './testing' with node16 module resolution.
// Usage: node libs/client/tools/verify-package.cjs [--keep]   (run `nx build client` first)
const { execFileSync } = require('node:child_process');
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
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

try {
  const tarball = run('npm', ['pack', dist, '--pack-destination', tmp, '--json'], tmp);
  const file = path.join(tmp, JSON.parse(tarball)[0].filename);
  console.log(`verify-package: packed ${path.basename(file)} (${fs.statSync(file).size} bytes)`);

  const app = path.join(tmp, 'consumer');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '0.0.0' }));
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
      compilerOptions: { strict: true, module: 'node16', moduleResolution: 'node16', target: 'es2022', noEmit: true, types: ['node'], experimentalDecorators: true },
      files: ['consumer.ts'],
    }),
  );
  run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
  console.log('verify-package: TypeScript consumer type-checks (node16 resolution, skipLibCheck off)');
  console.log('verify-package: ok');
} finally {
  if (process.argv.includes('--keep')) console.log(`verify-package: kept ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}
