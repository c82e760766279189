/** Tests run from the TypeScript sources; `@kern/sdk` maps to sdk/src so the
 * kernel, plugins and tests share one copy of the contract. */
// Watch event objects are shared between watchers and must not be changed:
// in tests they are deep-frozen so a consumer that writes into one fails here
// (child `kern up` processes of the e2e tests inherit it too).
process.env.KERN_FREEZE_WATCH_EVENTS ??= '1';

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/sdk', '<rootDir>/kernel', '<rootDir>/plugins', '<rootDir>/registry', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
  moduleNameMapper: {
    '^@kern/sdk$': '<rootDir>/sdk/src/index.ts',
    '^@kern/sdk/testing$': '<rootDir>/sdk/src/testing/index.ts',
  },
  setupFiles: ['reflect-metadata'],
  testTimeout: 30000,
};
