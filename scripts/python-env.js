#!/usr/bin/env node
/**
 * The Python environment the tests run for real: MLflow (the default image's version), psycopg2,
 * shellcheck, JupyterLab and jupyter-collaboration, installed from python/requirements.lock with
 * `pip install --require-hashes`, so every file is the one the lock names.
 *
 * It is made once per lock and interpreter, in a cache folder outside the repository
 * (`$MLFLOW_GKE_CACHE`, else `$XDG_CACHE_HOME/mlflow-gke`, else `~/.cache/mlflow-gke`, then
 * `python/<key>/`), and reused after: the key hashes the lock and `python3 --version`, so editing the
 * lock or changing the interpreter makes a new one. A folder without its completion marker (an
 * install that was stopped) is removed and made again.
 *
 * `node scripts/python-env.js` makes it (if needed) and prints its bin folder; scripts/test.js calls
 * `ensurePythonEnv()` and puts that folder first on the tests' PATH, as MLFLOW_GKE_PYTHON_BIN too.
 *
 * Another lock (an earlier MLflow release's, python/upgrade/*.lock, for the upgrade test) is made the
 * same way: `ensurePythonEnv(progress, lockPath)`, or `node scripts/python-env.js LOCK`. Its key
 * hashes that lock, so each lock has its own folder.
 */
'use strict';
const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const LOCK = path.join(ROOT, 'python', 'requirements.lock');
const MARKER = '.mlflow-gke-complete';

function cacheRoot() {
  if (process.env.MLFLOW_GKE_CACHE) return process.env.MLFLOW_GKE_CACHE;
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'mlflow-gke');
}

function interpreter() {
  const python = process.env.MLFLOW_GKE_PYTHON || 'python3';
  const version = spawnSync(python, ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0)
    throw new Error(`${python} did not run (${version.error?.message ?? version.stderr.trim()}): the tests need Python 3.11 or newer with venv and pip`);
  return { python, version: version.stdout.trim() || version.stderr.trim() };
}

/** The folder of the environment for this lock (python/requirements.lock unless named) and interpreter. */
function envDir(lockPath = LOCK) {
  const { version } = interpreter();
  const key = crypto.createHash('sha256').update(fs.readFileSync(lockPath)).update(version).digest('hex').slice(0, 16);
  return path.join(cacheRoot(), 'python', key);
}

function step(what, command, args, log) {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' } });
  fs.appendFileSync(log, `$ ${command} ${args.join(' ')}\n${result.stdout ?? ''}${result.stderr ?? ''}`);
  if (result.error || result.status !== 0)
    throw new Error(`python environment: ${what} failed (exit ${result.status ?? result.error?.message}); its output is in ${log}`);
}

/**
 * Makes the environment of `lockPath` (python/requirements.lock unless named) unless it is complete
 * already; returns its bin folder. `progress` receives one line before a long install.
 */
function ensurePythonEnv(progress = (line) => process.stderr.write(`${line}\n`), lockPath = LOCK) {
  const dir = envDir(lockPath);
  const bin = path.join(dir, 'bin');
  if (fs.existsSync(path.join(dir, MARKER))) return bin;
  // One maker at a time (jest workers, a second npm test): the others wait for its marker.
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const lock = `${dir}.lock`;
  try {
    fs.mkdirSync(lock);
  } catch {
    progress(`python: waiting for another process to finish ${dir} (remove ${lock} if none is running)`);
    const deadline = Date.now() + 15 * 60 * 1000;
    while (!fs.existsSync(path.join(dir, MARKER))) {
      if (Date.now() > deadline) throw new Error(`python environment: ${dir} not finished after 15 minutes; remove ${lock} if no other process is making it`);
      spawnSync('sleep', ['2']);
    }
    return bin;
  }
  try {
    return make(dir, bin, progress, lockPath);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function make(dir, bin, progress, lockPath) {
  const { python, version } = interpreter();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const log = path.join(path.dirname(dir), `${path.basename(dir)}.log`);
  fs.writeFileSync(log, '');
  progress(`python: making the test environment (${version}, ${path.relative(ROOT, lockPath)}) in ${dir}: once per lock, about two minutes`);
  const started = Date.now();
  // A venv's scripts name its folder in their first line, so it is made where it stays.
  step('python3 -m venv', python, ['-m', 'venv', dir], log);
  step(
    'pip install --require-hashes',
    path.join(bin, 'python'),
    ['-m', 'pip', 'install', '--quiet', '--no-input', '--require-hashes', '--only-binary=:all:', '-r', lockPath],
    log,
  );
  fs.writeFileSync(path.join(dir, MARKER), `${version}\n${new Date().toISOString()}\n`);
  progress(`python: test environment ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return bin;
}

module.exports = { ensurePythonEnv, envDir, LOCK };

if (require.main === module) {
  try {
    const lockPath = process.argv[2] ? path.resolve(process.argv[2]) : LOCK;
    process.stdout.write(`${ensurePythonEnv(undefined, lockPath)}\n`);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
  }
}
