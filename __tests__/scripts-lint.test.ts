/**
 * Every shell script of the project passes shellcheck at its strictest default (all severities, style
 * included): the scripts pods run (charts/**.sh, inlined into the manifests), the project's tools
 * (scripts/*.sh) and the CI entry point. An exception is an inline `# shellcheck disable=SCxxxx`
 * directive that says why in a trailing comment.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PROJECT_ROOT } from './support/render';
import { shellcheckBin } from './support/python-env';

function shellFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.sh')) found.push(rel);
    }
  };
  walk('charts');
  walk('scripts');
  return [...found, '.ci/run'].sort();
}

function shellcheck(files: string[]) {
  const result = spawnSync(shellcheckBin(), ['--format=gcc', ...files], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (result.error)
    throw new Error(
      `shellcheck did not run (${result.error.message}): the Python environment of python/requirements.lock brings it (node scripts/python-env.js)`,
    );
  return result;
}

const files = shellFiles();

test('the scripts pods run are among the files checked', () => {
  expect(files).toEqual(
    expect.arrayContaining([
      'charts/postgres/dump.sh',
      'charts/postgres/init-mlflow-role.sh',
      'charts/postgres/init-monitoring-role.sh',
      'charts/postgres/restore.sh',
      'charts/postgres/storage.sh',
      '.ci/run',
    ]),
  );
});

test('shellcheck finds nothing in any shell script', () => {
  const result = shellcheck(files);
  expect(result.stdout + result.stderr).toBe('');
  expect(result.status).toBe(0);
});

test('shellcheck reports a finding where there is one (the check is live)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-shellcheck-'));
  try {
    const bad = path.join(dir, 'bad.sh');
    fs.writeFileSync(bad, '#!/usr/bin/env bash\nrm -rf $1/data\n');
    const result = shellcheck([bad]);
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/SC2086/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every shellcheck exception says why, in a comment on the directive', () => {
  const unexplained = files.flatMap((file) =>
    fs
      .readFileSync(path.join(PROJECT_ROOT, file), 'utf8')
      .split('\n')
      .map((line, i) => ({ line, at: `${file}:${i + 1}` }))
      .filter(({ line }) => /#\s*shellcheck\s+disable=/.test(line) && !/disable=\S+\s+#\s*\S+(\s+\S+){2,}/.test(line))
      .map(({ at, line }) => `${at}: ${line.trim()}`),
  );
  expect(unexplained).toEqual([]);
});
