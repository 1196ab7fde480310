#!/usr/bin/env node
/**
 * `npm test`: the static checks (type-check `tsc --noEmit`, then eslint, then `prettier --check`), the
 * jest suite and the Python unit tests of the pods' programs (`python3 -m unittest discover -s
 * __tests__/python`) run side by side, since none needs another's output. Arguments go to jest. Ends
 * with one summary line, "N passed, N failed, N skipped", that counts the jest and the Python tests
 * (skipped: e.g. the strict schema checks when the schema files are missing), and a non-zero exit when
 * a static check or a test failed.
 *
 * First it makes (once, then reuses) the Python environment of python/requirements.lock
 * (scripts/python-env.js): the real MLflow, JupyterLab and shellcheck the tests run, named to jest by
 * MLFLOW_GKE_PYTHON_BIN.
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

const { ensurePythonEnv } = require('./python-env');

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
    child.on('error', (error) => (output += `${command} did not start: ${error.message}\n`));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/**
 * Counts of a `python -m unittest` run from its closing lines: "Ran N tests" and "OK" or
 * "FAILED (failures=N, errors=N)", each optionally with "skipped=N" (not counted as passed).
 */
function unittestCounts({ code, output }) {
  const ran = /^Ran (\d+) tests? in /m.exec(output);
  // No closing line, or no test at all: one failure, so the summary never passes silently.
  if (!ran || ran[1] === '0') return { passed: 0, failed: 1 };
  const count = (what) => Number(new RegExp(`\\b${what}=(\\d+)`).exec(output)?.[1] ?? 0);
  const failed = count('failures') + count('errors') + count('unexpected successes');
  const passed = Number(ran[1]) - failed - count('skipped');
  // A non-zero exit with nothing counted as failed (e.g. no test found) still fails.
  return { passed, failed: code !== 0 && failed === 0 ? 1 : failed };
}

async function main() {
  // The Python environment the live tests run (MLflow, JupyterLab, shellcheck): made on the first run,
  // reused after; first on the tests' PATH.
  let pythonBin;
  try {
    pythonBin = ensurePythonEnv((line) => process.stdout.write(`${line}\n`));
  } catch (error) {
    process.stdout.write(`python environment FAILED: ${error.message}\n0 passed, 1 failed, 0 skipped\n`);
    process.exitCode = 1;
    return;
  }
  // Named, not put on PATH: tests that mean the machine's python3 keep it.
  const testEnv = { ...process.env, TMPDIR: jestTmp, MLFLOW_GKE_PYTHON_BIN: pythonBin };
  // The static checks run one after another in one lane beside jest: type-check, lint, format.
  const staticChecks = (async () => {
    const quiet = { stdio: ['ignore', 'pipe', 'pipe'] };
    const tsc = await run(bin('tsc'), ['--noEmit', '-p', '.'], quiet);
    const eslint = await run(bin('eslint'), ['--max-warnings=0', '.'], quiet);
    const prettier = await run(bin('prettier'), ['--check', '--log-level=warn', '**/*.{ts,js,mjs,json}'], quiet);
    return { tsc, eslint, prettier };
  })();
  const [{ tsc, eslint, prettier }, jest, python] = await Promise.all([
    staticChecks,
    run(bin('jest'), ['--ci', '--json', `--outputFile=${report}`, ...process.argv.slice(2)], { stdio: 'inherit', env: testEnv }),
    run('python3', ['-m', 'unittest', 'discover', '-s', '__tests__/python'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TMPDIR: jestTmp, PYTHONDONTWRITEBYTECODE: '1' },
    }),
  ]);
  process.stdout.write(tsc.code === 0 ? 'type-check: tsc --noEmit passed\n' : `type-check: tsc --noEmit FAILED\n${tsc.output}`);
  process.stdout.write(eslint.code === 0 ? 'lint: eslint passed\n' : `lint: eslint FAILED\n${eslint.output}`);
  process.stdout.write(
    prettier.code === 0 ? 'format: prettier --check passed\n' : `format: prettier --check FAILED (npx prettier --write to fix)\n${prettier.output}`,
  );
  const py = unittestCounts(python);
  process.stdout.write(
    python.code === 0 && py.failed === 0
      ? `python: ${py.passed} unit tests passed (__tests__/python)\n`
      : `python: unit tests FAILED (__tests__/python)\n${python.output}\n`,
  );
  let passed = py.passed;
  let failed = py.failed;
  // unittest's closing line says "skipped=N" when it skipped any.
  let skipped = Number(/\bskipped=(\d+)/.exec(python.output)?.[1] ?? 0);
  if (fs.existsSync(report)) {
    const result = JSON.parse(fs.readFileSync(report, 'utf8'));
    passed += result.numPassedTests;
    failed += result.numFailedTests + result.numRuntimeErrorTestSuites;
    skipped += result.numPendingTests + result.numTodoTests;
  } else if (jest.code !== 0) {
    failed += 1;
  }
  fs.rmSync(runDir, { recursive: true, force: true });
  process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  process.exitCode = [tsc, eslint, prettier, jest, python].some((r) => r.code !== 0) || failed > 0 ? 1 : 0;
}

main();
