// Shared jest settings: swc transpiles (type checking is the separate `typecheck` target), node environment.
const path = require('node:path');

/** @param {string} projectDir the project's folder (pass __dirname) */
module.exports = function preset(projectDir, overrides = {}) {
  return {
    displayName: path.basename(projectDir),
    rootDir: projectDir,
    testEnvironment: 'node',
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        {
          jsc: {
            parser: { syntax: 'typescript', decorators: true },
            transform: { legacyDecorator: true, decoratorMetadata: true },
            target: 'es2022',
          },
          module: { type: 'commonjs' },
        },
      ],
    },
    passWithNoTests: true,
    moduleFileExtensions: ['ts', 'js', 'json'],
    moduleNameMapper: moduleNameMapper(),
    testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
    reporters: ['default', path.join(__dirname, 'tools/scripts/jest-totals-reporter.cjs')],
    ...overrides,
  };
};

function moduleNameMapper() {
  const base = require('./tsconfig.base.json');
  const out = {};
  for (const [alias, [target]] of Object.entries(base.compilerOptions.paths)) {
    out[`^${alias.replace(/[/.]/g, (c) => '\\' + c)}$`] = path.join(__dirname, target);
  }
  return out;
}
