/**
 * An earlier MLflow release, run for real beside the rendered platform (the upgrade test): its Python
 * environment (python/upgrade/mlflow-X.lock, made by scripts/python-env.js like the test
 * environment), its `mlflow server --app-name basic-auth` on loopback, and its programs.
 *
 * Everything runs as this process's user in a HOME of its own, as the earlier install of
 * __tests__/live/cloudsql-ownership.test.ts does: the environments live in this user's cache.
 */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { freePort, healthStatus } from '../../../local/ports';
import { PROJECT_ROOT } from '../../support/render';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain Node script, shared with npm test
const { ensurePythonEnv } = require('../../../scripts/python-env.js');

/** The bin folder of the environment of MLflow `version` (python/upgrade/mlflow-<version>.lock), made once per lock. */
export function earlierMlflowBin(version: string): string {
  return ensurePythonEnv((line: string) => process.stderr.write(`${line}\n`), path.join(PROJECT_ROOT, 'python', 'upgrade', `mlflow-${version}.lock`));
}

export interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function home(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-earlier-'));
}

/** Runs a program of a bin folder (python, mlflow) to its end. Never throws for an exit code. */
export function runProgram(bin: string, program: string, args: readonly string[], env: Record<string, string> = {}): Promise<Outcome> {
  const dir = home();
  return new Promise<Outcome>((resolve, reject) => {
    const child = spawn(path.join(bin, program), args, { cwd: dir, env: { ...process.env, HOME: dir, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  }).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

/** Runs a program that prints one JSON line last; throws with its output unless it exits 0. */
export async function runJson(bin: string, program: string, args: readonly string[], env: Record<string, string> = {}): Promise<any> {
  const { code, stdout, stderr } = await runProgram(bin, program, args, env);
  if (code !== 0) throw new Error(`${program} ${args[0] ?? ''} exited ${code}:\n${stdout}${stderr}`);
  try {
    return JSON.parse(stdout.trim().split('\n').pop() ?? '');
  } catch {
    throw new Error(`${program} ${args[0] ?? ''} printed no JSON line:\n${stdout}${stderr}`);
  }
}

export interface EarlierServer {
  readonly url: string;
  /** What the server printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export interface EarlierServerOptions {
  /** SQLAlchemy URI of the tracking store and, as the platform keeps them, of the auth tables. */
  readonly backendUri: string;
  /** The proxied artifact store's folder (--artifacts-destination). */
  readonly artifactsDir: string;
  readonly admin: { readonly username: string; readonly password: string };
  /** basic_auth.ini default_permission. */
  readonly defaultPermission: string;
}

/**
 * Starts the earlier release's `mlflow server --app-name basic-auth` on 127.0.0.1 and waits until
 * /health answers 200; rejects with its output when it exits first or takes longer than `timeoutSeconds`.
 *
 * What that release reads (mlflow/server/auth/config.py read_auth_config of 3.10.1 and 3.13.0, in the
 * environments above): the file at MLFLOW_AUTH_CONFIG_PATH, section [mlflow], with default_permission,
 * database_uri, admin_username and admin_password all required (config["mlflow"][...]); the admin is
 * created at start when absent (mlflow/server/auth/__init__.py create_admin_user). create_app refuses
 * to start without MLFLOW_FLASK_SERVER_SECRET_KEY. configparser interpolates "%", hence the doubling.
 * MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false (mlflow/environment_variables.py) keeps the server from
 * starting its job runners, which nothing here uses.
 */
export async function startEarlierServer(bin: string, options: EarlierServerOptions, timeoutSeconds = 120): Promise<EarlierServer> {
  const dir = home();
  const port = await freePort();
  const ini = path.join(dir, 'basic_auth.ini');
  fs.writeFileSync(
    ini,
    [
      '[mlflow]',
      `default_permission = ${options.defaultPermission}`,
      `database_uri = ${options.backendUri.replace(/%/g, '%%')}`,
      `admin_username = ${options.admin.username}`,
      `admin_password = ${options.admin.password.replace(/%/g, '%%')}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const args = [
    'server',
    ...['--host', '127.0.0.1', '--port', String(port), '--workers', '1'],
    ...['--backend-store-uri', options.backendUri],
    ...['--serve-artifacts', '--artifacts-destination', options.artifactsDir],
    ...['--app-name', 'basic-auth'],
  ];
  const child = spawn(path.join(bin, 'mlflow'), args, {
    cwd: dir,
    env: {
      ...process.env,
      HOME: dir,
      MLFLOW_AUTH_CONFIG_PATH: ini,
      MLFLOW_FLASK_SERVER_SECRET_KEY: randomBytes(16).toString('hex'),
      MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
    },
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  let running = true;
  void exited.then(() => (running = false));
  const stop = async () => {
    // The whole process group: uvicorn's worker and the server's helpers.
    if (running && child.pid) process.kill(-child.pid, 'SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    if (!running) {
      await stop();
      throw new Error(`mlflow server exited ${await exited} before it answered /health:\n${output}`);
    }
    if ((await healthStatus(port)) === 200) return { url: `http://127.0.0.1:${port}`, output: () => output, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`mlflow server did not answer /health in ${timeoutSeconds}s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
