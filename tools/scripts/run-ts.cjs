#!/usr/bin/env node
// Runs a TypeScript entry point of this workspace without a build step: @swc-node/register transpiles on
// load and resolves the `@sofareg/*` paths of tsconfig.base.json.
const path = require('node:path');

const root = path.resolve(__dirname, '../..');
process.env.SWC_NODE_PROJECT ??= path.join(root, 'tsconfig.base.json');
// Source maps stay inline (debuggers read them) but Error.stack is not rewritten through them: grpc-js builds an
// error stack for every failed call, and rewriting each one made a client that lost its session spend
// most of a second per few hundred calls before it could redial (SWC_NODE_SOURCE_MAP_MODE=both brings it back).
process.env.SWC_NODE_SOURCE_MAP_MODE ??= 'inline';
require('@swc-node/register');

const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error('usage: run-ts.cjs <file.ts> [args...]');
  process.exit(2);
}
const entry = path.resolve(process.cwd(), script);
process.argv = [process.argv[0], entry, ...args];
require(entry);
