/**
 * The rendered MLflow, started for real for a test file (local/platform.ts), and what the tests do
 * with it: the workspace's MLflow client, SQL as the database's superuser.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Config } from '../../../config/schema';
import { LocalPlatform } from '../../../local/platform';
import { LocalPod } from '../../../local/pod-runner';
import { Major, removeTempDirs, Server } from '../../../local/postgres';
import { pythonEnvBin } from '../../support/python-env';
import { PROJECT_ROOT } from '../../support/render';

/** Seconds a first start may take on two busy cores (PostgreSQL, the migration, scrypt, two workers). */
export const START_SECONDS = 420;

/** Starts the platform of `config` in a temp folder; `stopPlatform` ends it. */
export async function startPlatform(
  config: Config,
  options: {
    verbose?: boolean;
    env?: Record<string, string>;
    pythonPath?: string[];
    postgres?: Major;
    earlierInstall?: (postgres: Server, platform: LocalPlatform) => Promise<void>;
  } = {},
): Promise<LocalPlatform> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-local-'));
  const platform = new LocalPlatform({
    config,
    dir,
    pythonBin: pythonEnvBin(),
    env: options.env,
    pythonPath: options.pythonPath,
    postgres: options.postgres,
    earlierInstall: options.earlierInstall,
    onLine: options.verbose || process.env.MLFLOW_GKE_LIVE_VERBOSE ? (line) => process.stdout.write(`${line}\n`) : undefined,
  });
  try {
    await platform.start();
  } catch (error) {
    await platform.stop();
    throw error;
  }
  return platform;
}

export async function stopPlatform(platform: LocalPlatform | undefined): Promise<void> {
  if (!platform) return;
  await platform.stop();
  fs.rmSync(platform.options.dir, { recursive: true, force: true });
  removeTempDirs();
}

/** The shared (or first) Jupyter workspace's pod, laid out with the render's Secrets and ConfigMaps. */
export function workspacePod(platform: LocalPlatform): LocalPod {
  const deployment = platform.rendered.objects.find(
    (o) => o.kind === 'Deployment' && o.metadata.namespace !== platform.ns && o.metadata.name.includes('jupyter'),
  );
  if (!deployment) throw new Error('the render has no Jupyter workspace');
  const spec = deployment.spec.template.spec;
  return new LocalPod(spec, {
    ...platform.podOptions(deployment.metadata.name, deployment.metadata.namespace),
    dir: path.join(platform.options.dir, 'pods', deployment.metadata.name),
  });
}

/** Runs a Python program of __tests__/live/programs with a container's environment; its JSON line. */
export function runPython(pod: LocalPod, container: string, program: string, args: string[], env: Record<string, string> = {}): Promise<any> {
  const prepared = pod.prepare(container);
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(pythonEnvBin(), 'python'), [path.join(PROJECT_ROOT, '__tests__/live/programs', program), ...args], {
      env: { ...prepared.env, ...env },
      cwd: pod.options.dir,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${program} exited ${code}:\n${out}${err}`));
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`${program} printed no JSON line:\n${out}${err}`));
      }
    });
  });
}
