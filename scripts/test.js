#!/usr/bin/env node
/**
 * `npm test`: the type-check (`tsc --noEmit`) and the jest suite run side by side, since neither needs
 * the other's output. Arguments go to jest. Ends with one summary line, "N passed, N failed", and a
 * non-zero exit when either the type-check or a test failed.
 *
 * jest runs in CI mode: a missing snapshot fails instead of being written, so `npm test` never changes
 * the repository (update snapshots on purpose with `npx jest -u`). Its temporary files go to a folder
 * of this run that is removed at the end, so nothing a test or a library leaves in the temp directory
 * outlives the run.
 */
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-test-'));
const report = path.join(runDir, 'jest.json');
const jestTmp = path.join(runDir, 'tmp');
// Like /tmp: tests that run a server as an unprivileged user create their folders here too.
fs.chmodSync(runDir, 0o755);
fs.mkdirSync(jestTmp, { mode: 0o1777 });
fs.chmodSync(jestTmp, 0o1777);

function run(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, ...options });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

async function main() {
  const [tsc, jest] = await Promise.all([
    run(bin('tsc'), ['--noEmit', '-p', '.'], { stdio: ['ignore', 'pipe', 'pipe'] }),
    run(bin('jest'), ['--ci', '--json', `--outputFile=${report}`, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, TMPDIR: jestTmp } }),
  ]);
  process.stdout.write(tsc.code === 0 ? 'type-check: tsc --noEmit passed\n' : `type-check: tsc --noEmit FAILED\n${tsc.output}`);
  let passed = 0;
  let failed = 0;
  if (fs.existsSync(report)) {
    const result = JSON.parse(fs.readFileSync(report, 'utf8'));
    passed = result.numPassedTests;
    failed = result.numFailedTests + result.numRuntimeErrorTestSuites;
  } else if (jest.code !== 0) {
    failed = 1;
  }
  fs.rmSync(runDir, { recursive: true, force: true });
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exitCode = tsc.code !== 0 || jest.code !== 0 ? 1 : 0;
}

main();
