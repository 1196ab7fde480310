/**
 * `npm run test:cluster` (scripts/test-cluster.js): the tests that apply renders to a real local
 * control plane. Kept out of `npm test` (jest.config.js ignores __tests__/cluster/): each file starts
 * its own control plane, which takes both cores, so they run one at a time.
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  roots: ['<rootDir>/__tests__/cluster'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 300000,
  maxWorkers: 1,
};
