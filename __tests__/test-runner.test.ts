/**
 * `npm test` (scripts/test.js) as people read it: the summary ends with each failing test's name and
 * the first line of its message; jest's results come through a reporter, so nothing printed points at
 * the run's folder, which is removed; a warning banner printed by tests appears once per run.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { warnOncePerRun } from './support/schemas';
import { PROJECT_ROOT } from './support/render';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain JavaScript scripts
const runner = require('../scripts/test.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain JavaScript reporter
const { resultsOf, firstLine } = require('../scripts/jest-results-reporter.js');

describe('npm test summary', () => {
  test('ends with the counts, then each failed check and each failing test with its first line', () => {
    expect(
      runner.summaryLines({
        passed: 3,
        failed: 2,
        skipped: 1,
        checks: ['lint: eslint'],
        failures: [
          { name: '__tests__/a.test.ts › group › works', message: 'expect(received).toBe(expected) // Object.is equality' },
          { name: '__tests__/python › test_x (t.T.test_x)', message: 'AssertionError: 1 != 2' },
        ],
      }),
    ).toEqual([
      '3 passed, 2 failed, 1 skipped',
      'FAILED lint: eslint',
      'FAILED __tests__/a.test.ts › group › works: expect(received).toBe(expected) // Object.is equality',
      'FAILED __tests__/python › test_x (t.T.test_x): AssertionError: 1 != 2',
    ]);
  });

  test('the results reporter names each failing test and a file that did not run, with the first line of the message', () => {
    const aggregated = {
      numPassedTests: 4,
      numFailedTests: 1,
      numRuntimeErrorTestSuites: 1,
      numPendingTests: 2,
      numTodoTests: 0,
      testResults: [
        {
          testFilePath: path.join(process.cwd(), '__tests__/a.test.ts'),
          testResults: [
            { status: 'passed', ancestorTitles: ['group'], title: 'ok', failureMessages: [] },
            { status: 'failed', ancestorTitles: ['group'], title: 'works', failureMessages: ['\u001b[31mError: expected 1\u001b[39m\n    at x (a.ts:1:1)'] },
          ],
        },
        { testFilePath: path.join(process.cwd(), '__tests__/b.test.ts'), testExecError: { message: 'Cannot find module ./nope' }, testResults: [] },
      ],
    };
    expect(resultsOf(aggregated)).toEqual({
      passed: 4,
      failed: 2,
      skipped: 2,
      failures: [
        { name: '__tests__/a.test.ts › group › works', message: 'expected 1' },
        { name: '__tests__/b.test.ts', message: 'Cannot find module ./nope' },
      ],
    });
    expect(firstLine('\n\n  first\nsecond')).toBe('first');
  });

  test('Python failures: the name of each FAIL or ERROR block and its exception line', () => {
    const output = [
      '..F.E',
      '======================================================================',
      'FAIL: test_sum (test_math.MathTest.test_sum)',
      '----------------------------------------------------------------------',
      'Traceback (most recent call last):',
      '  File "x.py", line 3, in test_sum',
      '    self.assertEqual(1, 2)',
      'AssertionError: 1 != 2',
      '',
      '======================================================================',
      'ERROR: test_io (test_io.IoTest.test_io)',
      '----------------------------------------------------------------------',
      'Traceback (most recent call last):',
      'FileNotFoundError: [Errno 2] No such file',
      '',
      '----------------------------------------------------------------------',
      'Ran 5 tests in 0.01s',
      '',
      'FAILED (failures=1, errors=1)',
    ].join('\n');
    expect(runner.unittestFailures(output)).toEqual([
      { name: '__tests__/python › test_sum (test_math.MathTest.test_sum)', message: 'AssertionError: 1 != 2' },
      { name: '__tests__/python › test_io (test_io.IoTest.test_io)', message: 'FileNotFoundError: [Errno 2] No such file' },
    ]);
  });

  test('jest gets the configured reporters and the results reporter, and no --outputFile', () => {
    const args: string[] = runner.jestArgs(['__tests__/x.test.ts']);
    expect(args).toEqual([
      '--ci',
      '__tests__/x.test.ts',
      '--reporters=default',
      `--reporters=${path.join(PROJECT_ROOT, '__tests__/support/schema-skips-reporter.js')}`,
      `--reporters=${path.join(PROJECT_ROOT, 'scripts/jest-results-reporter.js')}`,
    ]);
    expect(args.join(' ')).not.toMatch(/--json|--outputFile/);
  });

  test('a real jest run with those arguments writes the results and prints no path to them', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-runner-'));
    try {
      const results = path.join(dir, 'results.json');
      const jest = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'jest');
      const r = spawnSync(jest, runner.jestArgs(['__tests__/test-runner.test.ts', '-t', 'ends with the counts']), {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        env: { ...process.env, MLFLOW_GKE_TEST_RESULTS: results },
      });
      expect(r.stderr).toMatch(/Tests: +6 skipped, 1 passed/);
      expect(r.status).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/Test results written to|results\.json/);
      expect(JSON.parse(fs.readFileSync(results, 'utf8'))).toMatchObject({ passed: 1, failed: 0, failures: [] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('banners', () => {
  test('a warning banner printed from tests appears once per run', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const text = `!! test banner ${process.pid} ${Date.now()}`;
      expect(warnOncePerRun(text)).toBe(true);
      expect(warnOncePerRun(text)).toBe(false);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith(text);
    } finally {
      warn.mockRestore();
    }
  });

  test('the schema banner comes from one reporter, once per run', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the jest config is plain JavaScript
    const reporters: unknown[] = require(path.join(PROJECT_ROOT, 'jest.config.js')).reporters;
    expect(reporters.filter((r) => String(r).includes('schema-skips-reporter'))).toHaveLength(1);
    expect(runner.jestArgs([]).filter((a: string) => a.includes('schema-skips-reporter'))).toHaveLength(1);
  });
});
