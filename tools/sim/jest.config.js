// Deterministic simulations: the kernel's own specs and each simulation's seeded runs and planted-bug checks.
module.exports = require('../../jest.preset.js')(__dirname, {
  testMatch: ['<rootDir>/**/*.spec.ts'],
  testTimeout: 120_000,
});
