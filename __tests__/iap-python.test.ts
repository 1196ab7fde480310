/**
 * The Python tests of the IAP token check and its users (__tests__/python/iap/: iap_verify.py,
 * iap_auth.py, the workspaces' proxy) run with the project's Python environment: they need
 * google-auth, which the MLflow image has (through mlflow-skinny and databricks-sdk) and the lock pins
 * at the image's version, and which the machine's python3 that runs the other unit tests may lack. The
 * folder is no package, so that run's `unittest discover` does not descend into it.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { pythonEnvBin } from './support/python-env';
import { PROJECT_ROOT } from './support/render';

const DIR = path.join(PROJECT_ROOT, '__tests__', 'python', 'iap');

test('the IAP Python tests pass with the google-auth of the lock', () => {
  const r = spawnSync(path.join(pythonEnvBin(), 'python'), ['-m', 'unittest', 'discover', '-s', DIR, '-v'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    timeout: 300_000,
  });
  const ran = Number(/^Ran (\d+) tests?/m.exec(r.stderr)?.[1] ?? 0);
  expect({ status: r.status, tail: r.stderr.split('\n').slice(-40).join('\n') }).toEqual({ status: 0, tail: expect.stringMatching(/\nOK\n?$/) });
  // Every test file of the folder ran (a file that fails to import is an error, a missing one would not be).
  const files = fs.readdirSync(DIR).filter((f) => /^test_.*\.py$/.test(f));
  expect(files.length).toBeGreaterThanOrEqual(3);
  expect(ran).toBeGreaterThanOrEqual(53);
});

test('the folder is not a package: the machine-python run of __tests__/python leaves it alone', () => {
  expect(fs.existsSync(path.join(DIR, '__init__.py'))).toBe(false);
});
