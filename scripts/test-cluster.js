#!/usr/bin/env node
/**
 * `npm run test:cluster`: applies renders to a real Kubernetes control plane on loopback
 * (__tests__/cluster/, jest.cluster.config.js). Builds the control plane first when it is not cached
 * (scripts/cluster/build.sh prints the progress), then runs the tests one file at a time; each file
 * starts and stops its own control plane. Arguments go to jest. Ends with "N passed, N failed".
 *
 * The tests install the CRDs from the shared schemas (MLFLOW_GKE_SCHEMAS, else ../shared/schemas).
 * Without them the tier cannot run: in CI (CI=true) that fails; elsewhere it is skipped, loudly.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const schemas = process.env.MLFLOW_GKE_SCHEMAS ?? path.resolve(root, '../shared/schemas');

if (!fs.existsSync(path.join(schemas, 'crds'))) {
  const banner = '!'.repeat(78);
  process.stderr.write(
    `\n${banner}\n!! NO CRDs FOUND at ${path.join(schemas, 'crds')} (set MLFLOW_GKE_SCHEMAS).\n` +
      `!! The cluster tests install them for real and cannot run without them:\n` +
      `!! ${process.env.CI === 'true' ? 'FAILED (CI=true)' : 'SKIPPED (in CI, with CI=true, this fails)'}.\n${banner}\n\n`,
  );
  if (process.env.CI === 'true') {
    process.stdout.write('cluster: 0 passed, 1 failed\n');
    process.exit(1);
  }
  process.stdout.write('cluster: 0 passed, 0 failed, 1 skipped\n');
  process.exit(0);
}

const build = spawnSync('bash', [path.join(root, 'scripts', 'cluster', 'build.sh')], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
if (build.status !== 0) {
  process.stdout.write('cluster: the control plane did not build\ncluster: 0 passed, 1 failed\n');
  process.exit(1);
}
const bin = build.stdout.trim();

const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-test-cluster-'));
const report = path.join(runDir, 'jest.json');
const jest = spawnSync(
  path.join(root, 'node_modules', '.bin', 'jest'),
  ['-c', 'jest.cluster.config.js', '--ci', '--json', `--outputFile=${report}`, ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit', env: { ...process.env, MLFLOW_GKE_CLUSTER_BIN: bin, TMPDIR: runDir } },
);
let passed = 0;
let failed = jest.status === 0 ? 0 : 1;
if (fs.existsSync(report)) {
  const result = JSON.parse(fs.readFileSync(report, 'utf8'));
  passed = result.numPassedTests;
  failed = result.numFailedTests + result.numRuntimeErrorTestSuites + (jest.status !== 0 && result.numFailedTests === 0 ? 1 : 0);
}
fs.rmSync(runDir, { recursive: true, force: true });
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = jest.status === 0 && failed === 0 ? 0 : 1;
