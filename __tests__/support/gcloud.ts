/**
 * The real Google Cloud CLI, run offline: a fresh, empty configuration, no credentials and no probe of
 * the metadata server. gcloud parses a command fully (command group, flags, choices) before it asks
 * for credentials, so a well-formed command stops at "You do not currently have an active account
 * selected", while a mistake stops earlier ("Invalid choice", "unrecognized arguments", "must be one
 * of"). Values only the server checks (does the project or the role exist) stay the server's.
 *
 * Tests that need gcloud use `gcloudTest`: without gcloud on PATH they are skipped with a mark in their
 * name outside CI, and fail under CI=true (CI machines have the Google Cloud CLI).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const GCLOUD_SKIP_MARK = '[skipped: gcloud missing]';

/** The gcloud on PATH (or $MLFLOW_GKE_GCLOUD), or undefined. */
export function gcloudBin(): string | undefined {
  const named = process.env.MLFLOW_GKE_GCLOUD;
  if (named) return named;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, 'gcloud');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

const MISSING = 'this test needs the Google Cloud CLI (gcloud) on PATH, or MLFLOW_GKE_GCLOUD naming it: install it (cloud.google.com/sdk)';

type TestFunction = (name: string, fn?: jest.ProvidesCallback, timeout?: number) => void;

/** `test` when gcloud is there; else a failing test under CI=true, a marked skip otherwise. */
export function gcloudTestFor(bin: string | undefined, ci: boolean, register: TestFunction = test, skip: TestFunction = test.skip): TestFunction {
  if (bin) return register;
  if (ci)
    return (name, _fn, timeout) =>
      register(
        name,
        () => {
          throw new Error(`${MISSING} (CI=true: never skipped in CI)`);
        },
        timeout,
      );
  return (name, fn, timeout) => skip(`${name} ${GCLOUD_SKIP_MARK}`, fn, timeout);
}

export const gcloudTest: TestFunction = gcloudTestFor(gcloudBin(), process.env.CI === 'true');

/**
 * The environment of an offline gcloud run, in a fresh configuration folder `dir`:
 * - CLOUDSDK_CONFIG: the configuration folder (no account, no credentials, no properties);
 * - its `gce` file says "False": gcloud caches there whether it runs on Compute Engine, and with a
 *   fresh cache it probes the metadata server (GET .../computeMetadata/v1/project/numeric-project-id)
 *   even with core/check_gce_metadata false (seen with gcloud 528);
 * - CLOUDSDK_CORE_CHECK_GCE_METADATA=false: no metadata credentials (core/check_gce_metadata);
 * - GCE_METADATA_ROOT: gcloud's metadata host (googlecloudsdk/core/credentials/gce_read.py) at a closed
 *   loopback port, should anything probe it still;
 * - no prompts, no update check, no usage reporting; nothing of the caller's environment but PATH.
 */
export function offlineGcloudEnv(dir: string, metadataRoot = '127.0.0.1:1'): NodeJS.ProcessEnv {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'gce'), 'False');
  return {
    PATH: process.env.PATH,
    HOME: dir,
    LANG: 'C.UTF-8',
    CLOUDSDK_CONFIG: dir,
    CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
    GCE_METADATA_ROOT: metadataRoot,
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1',
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
  };
}

export interface GcloudVerdict {
  argv: string[];
  /** Parsed fully and stopped at the missing account. */
  ok: boolean;
  /** The first ERROR line, or the output's start. */
  message: string;
  /** The command gcloud parsed, as it names it ("services enable"), when it reached the account. */
  command: string;
}

const NO_ACCOUNT = /^ERROR: \(gcloud\.([\w.-]+)\) You do not currently have an active account selected\./m;

/** The verdict on one run's output: well-formed only when gcloud reached the credentials of this very command. */
export function verdictOf(argv: string[], output: string): GcloudVerdict {
  const first = /^ERROR: .*$/m.exec(output)?.[0] ?? output.trim().split('\n')[0] ?? '';
  const match = NO_ACCOUNT.exec(output);
  // The command gcloud ran is a prefix of argv (group and command words): not a parent group's help.
  const ran = match?.[1].split('.') ?? [];
  const ok = !!match && ran.every((word, i) => argv[i] === word);
  return { argv, ok, message: first, command: ran.join(' ') };
}

/** Runs each argv through the offline gcloud, `pool` at a time (gcloud takes about a second to start). */
export async function checkWithGcloud(argvs: string[][], pool = 2, metadataRoot?: string): Promise<GcloudVerdict[]> {
  const bin = gcloudBin();
  if (!bin) throw new Error(MISSING);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-gcloud-'));
  const verdicts: GcloudVerdict[] = new Array(argvs.length);
  let next = 0;
  const worker = async () => {
    while (next < argvs.length) {
      const i = next++;
      const env = offlineGcloudEnv(path.join(root, String(i)), metadataRoot);
      const output = await new Promise<string>((resolve) => {
        const child = spawn(bin, argvs[i], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        child.stdout.on('data', (d) => (text += d));
        child.stderr.on('data', (d) => (text += d));
        child.on('error', (e) => resolve(`gcloud did not start: ${e.message}`));
        child.on('close', () => resolve(text));
      });
      verdicts[i] = verdictOf(argvs[i], output);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(pool, argvs.length) }, worker));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  return verdicts;
}

/** A readable list of the rejected commands, for a failure message. */
export function rejected(verdicts: GcloudVerdict[]): string[] {
  return verdicts.filter((v) => !v.ok).map((v) => `gcloud ${v.argv.join(' ')}\n    -> ${v.message}`);
}

/**
 * The gcloud commands a bash script runs, each as its argv: the script runs against a stand-in gcloud
 * that records every call (and answers like a project with billing and without the account yet, so
 * the create branch runs too), with `env` added to its environment.
 */
export function gcloudCallsOfScript(script: string, env: Record<string, string> = {}): { status: number | null; stderr: string; calls: string[][] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-gcloud-calls-'));
  try {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(
      path.join(bin, 'gcloud'),
      [
        '#!/usr/bin/env bash',
        // One record per call, arguments separated by \x1f, records by \x1e: nothing is re-split.
        `{ for a in "$@"; do printf '%s\\x1f' "$a"; done; printf '\\x1e'; } >>"$GCLOUD_CALLS"`,
        'case "$1 $2 $3" in',
        '  "billing projects describe") echo True ;;',
        // Accounts the script creates do not exist yet; the Compute Engine default account does (the
        // script waits for it, then grants on it).
        '  "iam service-accounts describe") [[ "$4" == *-compute@developer.gserviceaccount.com ]] || exit 1 ;;',
        'esac',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const file = path.join(dir, 'script.sh');
    fs.writeFileSync(file, script);
    const calls = path.join(dir, 'calls');
    const result = spawnSync('bash', [file], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, GCLOUD_CALLS: calls, ...env } });
    const text = fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8') : '';
    const argvs = text
      .split('\x1e')
      .filter((r) => r !== '')
      .map((r) => r.split('\x1f').slice(0, -1));
    return { status: result.status, stderr: result.stderr, calls: argvs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
