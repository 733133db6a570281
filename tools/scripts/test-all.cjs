#!/usr/bin/env node
// The workspace's whole test suite: contract freshness, type checks, then every project's tests, ending with
// one line `N passed, N failed` over all projects. Extra arguments go to `nx` (e.g. `--projects=raft`).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '../..');
const resultsDir = path.join(root, 'tmp/test-results');
const env = { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', NX_TUI: 'false' };
const extra = process.argv.slice(2);
const nx = path.join(root, 'node_modules/.bin/nx');

function run(args) {
  console.log(`$ nx ${args.join(' ')}`);
  const r = spawnSync(nx, args, { cwd: root, env, stdio: 'inherit' });
  return r.status ?? 1;
}

fs.rmSync(resultsDir, { recursive: true, force: true });
let status = run(['run', 'contracts:check', '--output-style=stream']);
if (status === 0) status = run(['run-many', '-t', 'typecheck', '--output-style=stream', ...extra]);
if (status === 0 && extra.length === 0) {
  // The benchmarks are not a project (nothing tests them) but must keep compiling against the libraries.
  console.log('$ tsc -p tools/bench');
  status =
    spawnSync(path.join(root, 'node_modules/.bin/tsc'), ['-p', 'tools/bench/tsconfig.json'], {
      cwd: root,
      stdio: 'inherit',
    }).status ?? 1;
}
const testStatus = run(['run-many', '-t', 'test', '--output-style=stream', '--parallel=1', ...extra]);
status ||= testStatus;
if (extra.length === 0) {
  // The publishable client as users get it: built, packed, installed outside the workspace, run against a
  // real cluster.
  status ||= run(['run', 'client:verify-package', '--output-style=stream']);
}

let passed = 0;
let failed = 0;
let skipped = 0;
if (fs.existsSync(resultsDir)) {
  for (const f of fs.readdirSync(resultsDir)) {
    const r = JSON.parse(fs.readFileSync(path.join(resultsDir, f), 'utf8'));
    passed += r.passed;
    failed += r.failed;
    skipped += r.skipped;
  }
}
if (status !== 0 && failed === 0) failed = 1; // a failure outside jest (typecheck, contracts) still fails the line
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status);
