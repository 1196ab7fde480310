/** Type-checking runs once in `tsc --noEmit` (npm test); jest only transpiles, with esbuild. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  // The tests against a real control plane run in `npm run test:cluster` (jest.cluster.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/__tests__/cluster/'],
  transform: { '^.+\\.ts$': '<rootDir>/jest.transform.js' },
  testTimeout: 120000,
  // One banner for the run when tests were skipped for want of schema files (support/strict-tests.ts).
  reporters: ['default', '<rootDir>/__tests__/support/schema-skips-reporter.js'],
  // Two cores, three workers: the live tests spend most of their time waiting on PostgreSQL servers and
  // on timers, so a third worker keeps both cores busy (`npm run bench`: 61.6 s with two, 61.0 s with
  // three; single runs 57.6-61.4 s against 61.4-67.1 s).
  maxWorkers: 3,
};
