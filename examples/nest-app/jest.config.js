const preset = require('../../jest.preset.js');
const base = preset(__dirname);
// The client's second entries, until tsconfig.base.json lists them as path aliases.
module.exports = preset(__dirname, {
  moduleNameMapper: {
    '^@sofareg/client/nest$': require('node:path').join(__dirname, '../../libs/client/src/nest/index.ts'),
    '^@sofareg/client/testing$': require('node:path').join(__dirname, '../../libs/client/src/testing/index.ts'),
    ...base.moduleNameMapper,
  },
});
