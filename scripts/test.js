#!/usr/bin/env node
/**
 * `npm test`: the type-check (`tsc --noEmit`) and the jest suite run side by side, since neither needs
 * the other's output. Arguments go to jest. Ends with one summary line, "N passed, N failed", and a
 * non-zero exit when either the type-check or a test failed.
 */
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-test-')), 'jest.json');

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
    run(bin('jest'), ['--json', `--outputFile=${report}`, ...process.argv.slice(2)], { stdio: 'inherit' }),
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
  fs.rmSync(path.dirname(report), { recursive: true, force: true });
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exitCode = tsc.code !== 0 || jest.code !== 0 ? 1 : 0;
}

main();
