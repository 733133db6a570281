#!/usr/bin/env node
// Builds the publishable package dist/libs/client: compiles the client with tsc (JavaScript + declarations),
// together with the internal libraries it uses (@sofareg/model, @sofareg/contracts), which are not published
// on their own. Their imports are then rewritten from the @sofareg/* path aliases to relative paths, and a
// package.json is written from libs/client/package.json with the entry points. Fails if any other
// @sofareg/* import is left, if the version in src/version.ts differs from package.json, or if the built
// entry points do not load.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '../../..');
const lib = path.join(root, 'libs/client');
const out = path.join(root, 'dist/libs/client');
const libOut = path.join(out, 'lib');
const bundled = { '@sofareg/model': 'model/src/index', '@sofareg/contracts': 'contracts/src/index' };

function fail(message) {
  console.error(`client build: ${message}`);
  process.exit(1);
}

const manifest = JSON.parse(fs.readFileSync(path.join(lib, 'package.json'), 'utf8'));
const versionSource = fs.readFileSync(path.join(lib, 'src/version.ts'), 'utf8');
const sourceVersion = /CLIENT_VERSION = '([^']+)'/.exec(versionSource)?.[1];
if (sourceVersion !== manifest.version) {
  fail(`src/version.ts says ${sourceVersion} but package.json says ${manifest.version}; make them equal`);
}

fs.rmSync(out, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(lib, 'tsconfig.lib.json')],
  {
    stdio: 'inherit',
    cwd: root,
  },
);

// Rewrite the path aliases of bundled internal libraries to relative paths.
const files = fs
  .readdirSync(libOut, { recursive: true })
  .map((f) => path.join(libOut, f))
  .filter((f) => /\.(js|d\.ts)$/.test(f));
let rewritten = 0;
for (const file of files) {
  const text = fs.readFileSync(file, 'utf8');
  const next = text.replace(/(["'])(@sofareg\/[a-z-]+(?:\/[a-z-]+)?)\1/g, (whole, quote, spec) => {
    const target = bundled[spec];
    if (!target) fail(`${path.relative(out, file)} imports ${spec}, which the package does not carry`);
    let rel = path.relative(path.dirname(file), path.join(libOut, target)).split(path.sep).join('/');
    if (!rel.startsWith('.')) rel = './' + rel;
    rewritten++;
    return quote + rel + quote;
  });
  if (next !== text) fs.writeFileSync(file, next);
}

const entry = (p) => ({ types: `./lib/client/src/${p}.d.ts`, default: `./lib/client/src/${p}.js` });
const pkg = {
  ...manifest,
  main: './lib/client/src/index.js',
  types: './lib/client/src/index.d.ts',
  exports: {
    '.': entry('index'),
    './nest': entry('nest/index'),
    './testing': entry('testing/index'),
    './package.json': './package.json',
  },
  typesVersions: {
    '*': { nest: ['./lib/client/src/nest/index.d.ts'], testing: ['./lib/client/src/testing/index.d.ts'] },
  },
  files: ['lib', 'README.md'],
};
fs.writeFileSync(path.join(out, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
fs.copyFileSync(path.join(lib, 'README.md'), path.join(out, 'README.md'));

// Every declared dependency must be imported somewhere, and every bare import must be declared.
const declared = new Set([
  ...Object.keys(manifest.dependencies ?? {}),
  ...Object.keys(manifest.peerDependencies ?? {}),
]);
const used = new Set();
for (const file of files.filter((f) => f.endsWith('.js'))) {
  for (const m of fs.readFileSync(file, 'utf8').matchAll(/require\("([^".][^"]*)"\)/g)) {
    const spec = m[1];
    if (spec.startsWith('node:')) continue;
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
    if (require('node:module').builtinModules.includes(name)) continue;
    used.add(name);
  }
}
const undeclared = [...used].filter((n) => !declared.has(n));
if (undeclared.length) fail(`imports not declared in libs/client/package.json: ${undeclared.join(', ')}`);
// (Peers may go unused: @nestjs/core is listed because every Nest application that uses ./nest has it.)
const unused = Object.keys(manifest.dependencies ?? {}).filter((n) => !used.has(n));
if (unused.length) fail(`declared but never imported: ${unused.join(', ')}`);

// The entry points must load.
for (const e of ['index', 'nest/index', 'testing/index']) require(path.join(libOut, 'client/src', e + '.js'));
console.log(
  `client build: ${path.relative(root, out)} (${files.length} files, ${rewritten} imports rewritten, deps: ${[...used].sort().join(', ')})`,
);
