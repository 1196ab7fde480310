/**
 * Every Python file of the project passes pyright (pyrightconfig.json: standard checks plus unused
 * imports and variables, possibly unbound names, needless ignore comments): the programs pods run
 * (charts/mlflow/*.py), as files and as the composed texts the pods get, and the Python unit tests with
 * their stand-ins. SQLAlchemy, Alembic, MLflow, google-auth and h11 are not installed here: their imports in the
 * programs carry `# pyright: ignore[reportMissingImports]`, the only exception allowed there.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MLFLOW_PROGRAMS, mlflowProgram } from '../charts/mlflow/programs';
import { iapProxyProgram } from '../charts/workspaces/iap-proxy';
import { PROJECT_ROOT } from './support/render';

interface PyrightReport {
  generalDiagnostics: { file: string; severity: string; message: string; rule?: string; range: { start: { line: number } } }[];
  summary: { filesAnalyzed: number; errorCount: number; warningCount: number; informationCount: number };
}

function pyright(args: string[]): PyrightReport {
  const cli = path.join(PROJECT_ROOT, 'node_modules', 'pyright', 'index.js');
  const r = spawnSync(process.execPath, [cli, '--outputjson', ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw new Error(`pyright did not run: ${r.error.message}`);
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`pyright gave no report (exit ${r.status}): ${r.stdout}${r.stderr}`);
  }
}

const findings = (report: PyrightReport) =>
  report.generalDiagnostics.map(
    (d) => `${path.relative(PROJECT_ROOT, d.file)}:${d.range.start.line + 1}: ${d.severity}: ${d.message} (${d.rule ?? 'no rule'})`,
  );

function pythonFiles(dir: string): string[] {
  return fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === '__pycache__' ? [] : pythonFiles(rel);
    return e.name.endsWith('.py') ? [rel] : [];
  });
}

test('pyright finds nothing in the Python files', () => {
  const report = pyright(['-p', 'pyrightconfig.json']);
  expect(findings(report)).toEqual([]);
  expect(report.summary.errorCount + report.summary.warningCount + report.summary.informationCount).toBe(0);
  expect(report.summary.filesAnalyzed).toBe(pythonFiles('charts').length + pythonFiles('__tests__/python').length);
});

test('pyright finds nothing in the texts the pods run (shared part and program together, the proxy after the token check)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-programs-'));
  try {
    const files = MLFLOW_PROGRAMS.map((name) => {
      const file = path.join(dir, `${name}.py`);
      fs.writeFileSync(file, mlflowProgram(name));
      return file;
    });
    // The workspaces' verifying proxy: the token check's part, then its own.
    files.push(path.join(dir, 'iap_proxy.py'));
    fs.writeFileSync(files[files.length - 1], iapProxyProgram());
    const report = pyright(['-p', 'pyrightconfig.json', ...files]);
    expect(findings(report)).toEqual([]);
    expect(report.summary.filesAnalyzed).toBe(MLFLOW_PROGRAMS.length + 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('pyright reports a finding where there is one (the check is live)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-pyright-'));
  try {
    const bad = path.join(dir, 'bad.py');
    // The two kinds of finding the programs had: an unused import, a possibly unbound name.
    fs.writeFileSync(bad, 'import os, sys\n\n\ndef f(answers):\n    for a in answers:\n        last = a\n    return last\n');
    const rules = pyright(['-p', 'pyrightconfig.json', bad]).generalDiagnostics.map((d) => d.rule);
    expect(rules.sort()).toEqual(['reportPossiblyUnboundVariable', 'reportUnusedImport', 'reportUnusedImport']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the programs silence only missing imports of SQLAlchemy, Alembic, MLflow, google-auth and h11', () => {
  const exceptions = pythonFiles('charts').flatMap((file) =>
    fs
      .readFileSync(path.join(PROJECT_ROOT, file), 'utf8')
      .split('\n')
      .map((line, i) => ({ line, at: `${file}:${i + 1}` }))
      .filter(({ line }) => /#\s*(pyright|type)\s*:/.test(line)),
  );
  expect(exceptions.length).toBeGreaterThan(0);
  const other = exceptions.filter(
    ({ line }) => !/^\s*(import (sqlalchemy|mlflow|h11)|from (alembic|mlflow|google)[\w.]* import \w+)\s+# pyright: ignore\[reportMissingImports\]$/.test(line),
  );
  expect(other.map(({ at, line }) => `${at}: ${line.trim()}`)).toEqual([]);
});

test('pyright checks for the Python of the MLflow image', () => {
  // mlflow/mlflow docker/Dockerfile.full (read at commit 092ba8b14c94d5159bd527f765d73f23f3885cdb):
  // FROM python:3.11-slim-bookworm, then pip install mlflow[extras,...]==$VERSION.
  const config = fs.readFileSync(path.join(PROJECT_ROOT, 'pyrightconfig.json'), 'utf8');
  expect(/^\s*"pythonVersion": "([\d.]+)"/m.exec(config)?.[1]).toBe('3.11');
});
