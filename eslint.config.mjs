import nx from '@nx/eslint-plugin';
import prettierRecommended from 'eslint-plugin-prettier/recommended';

// Core code is pure: no NestJS, gRPC, file system, network, process or clock-owning modules.
const ioModules = [
  '@nestjs/*',
  '@grpc/*',
  'express',
  'pino',
  'prom-client',
  'commander',
  'fs',
  'fs/*',
  'node:fs',
  'node:fs/*',
  'net',
  'node:net',
  'http',
  'node:http',
  'http2',
  'node:http2',
  'child_process',
  'node:child_process',
  'dgram',
  'node:dgram',
  'timers',
  'node:timers',
  'worker_threads',
  'node:worker_threads',
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  { ignores: ['**/dist', '**/node_modules', '**/.nx', 'libs/contracts/src/gen/**', '**/tmp'] },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            // Apps never import apps; libs never import apps.
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: ['type:core', 'type:adapter', 'type:contracts', 'type:util', 'type:testing'],
            },
            {
              sourceTag: 'type:adapter',
              onlyDependOnLibsWithTags: ['type:core', 'type:adapter', 'type:contracts', 'type:util', 'type:testing'],
            },
            // Cores speak in the contracts' message types (data, not transport); gRPC itself stays banned.
            {
              sourceTag: 'type:core',
              onlyDependOnLibsWithTags: ['type:core', 'type:contracts', 'type:util'],
              bannedExternalImports: ioModules,
            },
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:util'] },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'] },
            {
              sourceTag: 'type:testing',
              onlyDependOnLibsWithTags: ['type:core', 'type:adapter', 'type:contracts', 'type:util', 'type:testing'],
            },
            { sourceTag: 'scope:meta', onlyDependOnLibsWithTags: ['scope:meta', 'scope:shared'] },
            { sourceTag: 'scope:data', onlyDependOnLibsWithTags: ['scope:data', 'scope:shared'] },
            { sourceTag: 'scope:session', onlyDependOnLibsWithTags: ['scope:session', 'scope:shared'] },
            { sourceTag: 'scope:client', onlyDependOnLibsWithTags: ['scope:client', 'scope:shared'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Test doubles and process harnesses are for specs, benchmarks and simulations only.
    files: ['apps/**/src/**/*.ts', 'libs/**/src/**/*.ts'],
    ignores: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'libs/testing/**', '**/src/testing/**', '**/src/sim/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['@sofareg/testing', '@sofareg/*/testing'], message: 'testing code is for specs only' }],
        },
      ],
    },
  },
  {
    // The Raft core lives beside its shell in one lib; keep the core pure by path.
    files: ['libs/raft/src/core/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ioModules.filter((m) => !m.includes('*')), patterns: ioModules.filter((m) => m.includes('*')) },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate', 'process'],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now' },
        { object: 'Math', property: 'random' },
      ],
    },
  },
  {
    // Cores may use the contracts' message types, never their runtime (the generated gRPC clients and servers).
    files: ['libs/*-core/src/**/*.ts', 'libs/model/src/**/*.ts', 'libs/consistent-hash/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: [{ name: '@sofareg/contracts', allowTypeImports: true, message: 'cores import message types only' }] },
      ],
    },
  },
  // Formatting is prettier's (.prettierrc.json: 120 columns); lint fails on a file it would change.
  prettierRecommended,
];
