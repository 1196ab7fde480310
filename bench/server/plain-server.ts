/**
 * `mlflow server` started as plain as it comes, for the comparisons of `npm run bench:server`: the
 * floor (no auth, no TLS), the floor with TLS (uvicorn's TLS options as the render passes them,
 * charts/mlflow/server.ts) and the community chart's basic-auth server (community-charts/helm-charts,
 * chart mlflow-1.11.5: charts/mlflow/templates/deployment.yaml and auth_ini_configmap.yaml).
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { HealthTls, healthStatus } from '../../local/ports';

export interface PlainServerOptions {
  readonly pythonBin: string;
  readonly port: number;
  readonly backendStoreUri: string;
  readonly artifactsDir: string;
  /** uvicorn worker processes. */
  readonly workers: number;
  /** Extra arguments after MLflow's own (the peer's `--app-name`, `--uvicorn-opts`). @default none */
  readonly args?: readonly string[];
  /**
   * Serve HTTPS with this key pair (uvicorn's --ssl-certfile and --ssl-keyfile through MLflow's
   * --uvicorn-opts, which MLflow shlex-splits: the paths must have no spaces); its health is asked
   * over TLS. @default plain HTTP
   */
  readonly tls?: HealthTls & { readonly certFile: string; readonly keyFile: string };
  /** Extra environment (the peer's auth config path and Flask key). @default none */
  readonly env?: Readonly<Record<string, string>>;
  readonly onLine?: (line: string) => void;
}

export class PlainServer {
  private child?: ChildProcess;
  private output = '';

  constructor(readonly options: PlainServerOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutSeconds = 180): Promise<void> {
    const o = this.options;
    fs.mkdirSync(o.artifactsDir, { recursive: true });
    const argv = [
      'server',
      '--host',
      '127.0.0.1',
      '--port',
      String(o.port),
      '--backend-store-uri',
      o.backendStoreUri,
      '--serve-artifacts',
      '--artifacts-destination',
      o.artifactsDir,
      '--workers',
      String(o.workers),
      ...(o.tls ? ['--uvicorn-opts', `--ssl-certfile ${o.tls.certFile} --ssl-keyfile ${o.tls.keyFile}`] : []),
      ...(o.args ?? []),
    ];
    if (o.tls && o.args?.includes('--uvicorn-opts')) throw new Error('PlainServer: tls and --uvicorn-opts in args cannot be combined');
    const child = spawn(path.join(o.pythonBin, 'mlflow'), argv, {
      env: { ...process.env, ...o.env, PATH: `${o.pythonBin}:${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    const take = (data: Buffer) => {
      // Only the start-up is kept: the access log of a benchmark run would grow without end.
      if (this.output.length < 200_000) this.output += data;
      for (const line of data.toString('utf8').split('\n')) if (line) o.onLine?.(line);
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`mlflow server exited ${child.exitCode}:\n${this.output.slice(-4000)}`);
      if ((await healthStatus(o.port, o.tls)) === 200) return;
      if (Date.now() > deadline) throw new Error(`mlflow server did not answer /health in ${timeoutSeconds}s:\n${this.output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null) return;
    const exited = new Promise((r) => child.on('exit', r));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * The basic-auth configuration the community chart renders with its defaults (values.yaml of
 * mlflow-1.11.5: auth.defaultPermission READ, auth.appName basic-auth, auth.authorizationFunction
 * mlflow.server.auth:authenticate_request_basic_auth, log.enabled true at level info, no workers
 * argument, so MLflow's default of 4; no auth_cache_ttl_seconds, so MLflow's default 0: every request
 * checks the password hash).
 */
export function peerAuthIni(databaseUri: string, admin: { username: string; password: string }): string {
  return [
    '[mlflow]',
    'default_permission = READ',
    // configparser interpolates "%" (the IAM user's "@" is percent-encoded in the URI).
    `database_uri = ${databaseUri.replace(/%/g, '%%')}`,
    `admin_username = ${admin.username}`,
    `admin_password = ${admin.password}`,
    'authorization_function = mlflow.server.auth:authenticate_request_basic_auth',
    '',
  ].join('\n');
}

/** The peer's arguments after the backend and artifact ones (deployment.yaml of mlflow-1.11.5). */
export const PEER_ARGS = ['--app-name', 'basic-auth', '--uvicorn-opts', '--log-level=info'];

/** MLflow's worker count when `mlflow server` is given none (mlflow/server/__init__.py: `workers or 4`). */
export const MLFLOW_DEFAULT_WORKERS = 4;
