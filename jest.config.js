/** Tests run from the TypeScript sources; `@kern/sdk` maps to sdk/src so the
 * kernel, plugins and tests share one copy of the contract. */
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
