/** Type-checking runs once in `tsc --noEmit` (npm test); jest only transpiles, with esbuild. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': '<rootDir>/jest.transform.js' },
  testTimeout: 120000,
  // Two cores: use both (the type-check runs beside jest, see scripts/test.js).
  maxWorkers: 2,
};
