#!/usr/bin/env node
// Generates TypeScript from libs/contracts/proto with ts-proto, using the protoc compiler shipped in the
// `protoc` npm package (no download). `--check` regenerates into a temporary folder and fails when the
// committed output differs, so stale generated code cannot land.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const lib = path.resolve(__dirname, '..');
const root = path.resolve(lib, '../..');
const protoDir = path.join(lib, 'proto');
const outDir = path.join(lib, 'src/gen');
const check = process.argv.includes('--check');

const options = [
  'outputServices=grpc-js',
  'esModuleInterop=true',
  'forceLong=number',
  'oneof=unions-value',
  'env=node',
  'useOptionals=none',
  'exportCommonSymbols=false',
  'outputTypeRegistry=false',
].join(',');

function generate(target) {
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
  const protos = fs
    .readdirSync(protoDir)
    .filter((f) => f.endsWith('.proto'))
    .sort();
  execFileSync(
    process.execPath,
    [
      path.join(root, 'node_modules/protoc/protoc.cjs'),
      `--plugin=protoc-gen-ts_proto=${path.join(root, 'node_modules/.bin/protoc-gen-ts_proto')}`,
      `--ts_proto_out=${target}`,
      `--ts_proto_opt=${options}`,
      `-I${protoDir}`,
      ...protos,
    ],
    { stdio: 'inherit', cwd: protoDir },
  );
  postProcess(target);
  return protos;
}

/**
 * Routes the serializers of the generated grpc-js service definitions through `encodeToBuffer` (one reused
 * writer, no second copy: see src/encode-to-buffer.ts). ts-proto has no option for it.
 */
function postProcess(target) {
  for (const f of fs.readdirSync(target).filter((n) => n.endsWith('.ts'))) {
    const file = path.join(target, f);
    const src = fs.readFileSync(file, 'utf8');
    const out = src.replace(/Buffer\.from\((\w+)\.encode\(value\)\.finish\(\)\)/g, 'encodeToBuffer($1, value)');
    if (out === src) {
      // A file with service definitions whose serializers were not routed: ts-proto changed its output.
      if (src.includes('requestSerialize'))
        throw new Error(`contracts: no serializer of ${f} matched the encodeToBuffer rewrite; update postProcess`);
      continue;
    }
    const firstImport = out.indexOf('import ');
    fs.writeFileSync(
      file,
      `${out.slice(0, firstImport)}import { encodeToBuffer } from "../encode-to-buffer";\n${out.slice(firstImport)}`,
    );
  }
}

function listFiles(dir) {
  return fs
    .readdirSync(dir, { recursive: true })
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

if (check) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sofareg-contracts-'));
  try {
    generate(tmp);
    const want = listFiles(tmp);
    const have = fs.existsSync(outDir) ? listFiles(outDir) : [];
    const stale = [...new Set([...want, ...have])].filter((f) => {
      const a = path.join(tmp, f);
      const b = path.join(outDir, f);
      return !fs.existsSync(a) || !fs.existsSync(b) || !fs.readFileSync(a).equals(fs.readFileSync(b));
    });
    if (stale.length > 0) {
      console.error(`contracts: generated code is stale (${stale.join(', ')}); run \`npm run gen:contracts\``);
      process.exitCode = 1;
    } else console.log(`contracts: generated code is up to date (${want.length} files)`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
} else {
  const protos = generate(outDir);
  console.log(`contracts: generated ${protos.join(', ')} into ${path.relative(root, outDir)}`);
}
