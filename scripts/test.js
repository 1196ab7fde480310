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

/**
 * The failing Python tests of a `python -m unittest` output: each "FAIL: name" or "ERROR: name" block,
 * with its last message line (the exception after the traceback).
 */
function unittestFailures(output) {
  const failures = [];
  const blocks = output.split(/^={20,}$/m).slice(1);
  for (const block of blocks) {
    const head = /^(FAIL|ERROR): (.+)$/m.exec(block);
    if (!head) continue;
    const body = block.split(/^-{20,}$/m)[1] ?? '';
    const lines = body.split('\n').filter((l) => l.trim() !== '' && !/^Ran \d+ tests? in /.test(l) && !/^(OK|FAILED)\b/.test(l));
    failures.push({ name: `__tests__/python › ${head[2]}`, message: (lines[lines.length - 1] ?? '').trim() });
  }
  return failures;
}

/**
 * The jest arguments of the run: the configured reporters, plus the one that writes the results file
 * (the command line's --reporters replace the configured ones, so those are named again).
 */
function jestArgs(extra) {
  const configured = require(path.join(root, 'jest.config.js')).reporters ?? ['default'];
  const names = [...configured, path.join(root, 'scripts', 'jest-results-reporter.js')].map((r) =>
    typeof r === 'string' ? r.replace('<rootDir>', root) : r[0].replace('<rootDir>', root),
  );
  // Last: --reporters is a list option, which would take in the test paths that followed it.
  return ['--ci', ...extra, ...names.map((r) => `--reporters=${r}`)];
}

/** The closing lines: the counts, then each failing test with the first line of its message, and each failed check. */
function summaryLines({ passed, failed, skipped, failures, checks }) {
  const lines = [`${passed} passed, ${failed} failed, ${skipped} skipped`];
  for (const check of checks) lines.push(`FAILED ${check}`);
  for (const f of failures) lines.push(`FAILED ${f.name}${f.message ? `: ${f.message}` : ''}`);
  return lines;
}

async function main() {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-test-'));
  const report = path.join(runDir, 'jest.json');
  const jestTmp = path.join(runDir, 'tmp');
  // Like /tmp: tests that run a server as an unprivileged user create their folders here too.
  fs.chmodSync(runDir, 0o755);
  fs.mkdirSync(jestTmp, { mode: 0o1777 });
  fs.chmodSync(jestTmp, 0o1777);
  // The Python environment the live tests run (MLflow, JupyterLab, shellcheck): made on the first run,
  // reused after; first on the tests' PATH.
  let pythonBin;
  try {
    pythonBin = ensurePythonEnv((line) => process.stdout.write(`${line}\n`));
  } catch (error) {
    process.stdout.write(`python environment FAILED: ${error.message}\n0 passed, 1 failed, 0 skipped\n`);
    fs.rmSync(runDir, { recursive: true, force: true });
    process.exitCode = 1;
    return;
  }
  // Named, not put on PATH: tests that mean the machine's python3 keep it.
  const testEnv = { ...process.env, TMPDIR: jestTmp, MLFLOW_GKE_PYTHON_BIN: pythonBin, MLFLOW_GKE_TEST_RESULTS: report };
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
    run(bin('jest'), jestArgs(process.argv.slice(2)), { stdio: 'inherit', env: testEnv }),
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
  const failures = unittestFailures(python.output);
  if (py.failed > 0 && failures.length === 0) failures.push({ name: '__tests__/python', message: 'failed (see its output above)' });
  // unittest's closing line says "skipped=N" when it skipped any.
  let skipped = Number(/\bskipped=(\d+)/.exec(python.output)?.[1] ?? 0);
  if (fs.existsSync(report)) {
    const result = JSON.parse(fs.readFileSync(report, 'utf8'));
    passed += result.passed;
    failed += result.failed;
    skipped += result.skipped;
    failures.push(...result.failures);
  } else if (jest.code !== 0) {
    failed += 1;
    failures.push({ name: 'jest', message: `exited with ${jest.code} and wrote no results` });
  }
  fs.rmSync(runDir, { recursive: true, force: true });
  const checks = [
    ...(tsc.code !== 0 ? ['type-check: tsc --noEmit'] : []),
    ...(eslint.code !== 0 ? ['lint: eslint'] : []),
    ...(prettier.code !== 0 ? ['format: prettier --check'] : []),
  ];
  process.stdout.write(`${summaryLines({ passed, failed, skipped, failures, checks }).join('\n')}\n`);
  process.exitCode = [tsc, eslint, prettier, jest, python].some((r) => r.code !== 0) || failed > 0 ? 1 : 0;
}

module.exports = { unittestCounts, unittestFailures, jestArgs, summaryLines };

if (require.main === module) main();
