/**
 * The render of an earlier commit, made by that commit's own synth: its tree is exported with
 * `git archive` into a throwaway folder (the work tree and the index are never touched) and given the
 * project's installed node_modules, entry by entry, so that its synth keeps its own bundle cache.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from '../../support/render';
import { scratchDir } from './render-dir';

/**
 * The baseline the upgrade tests start from: main when the cluster tier was added. CI clones the
 * repository with its history, so the commit is there; a shallow clone fails with a clear message.
 */
export const BASELINE_COMMIT = '3ca59ba';

const trees = new Map<string, string>();

function checkout(commit: string): string {
  const known = trees.get(commit);
  if (known) return known;
  try {
    execFileSync('git', ['-C', PROJECT_ROOT, 'cat-file', '-e', `${commit}^{commit}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`commit ${commit} is not in this clone's history (a shallow clone?): run git fetch --unshallow`);
  }
  const dir = scratchDir('mlflow-gke-baseline-');
  execFileSync('sh', ['-c', 'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"', 'sh', PROJECT_ROOT, commit, dir]);
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(modules);
  for (const entry of fs.readdirSync(path.join(PROJECT_ROOT, 'node_modules'))) {
    if (entry !== '.cache') fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules', entry), path.join(modules, entry));
  }
  trees.set(commit, dir);
  return dir;
}

/**
 * Renders `configFile` (the embedded default when undefined) with the synth of `commit`; returns the
 * dist folder. A config file of the repository is taken as it was at that commit: a user upgrading
 * applies the render of the config they had then, and a config file may use fields only later code
 * knows.
 */
export function renderAt(commit: string, configFile?: string): string {
  const tree = checkout(commit);
  if (configFile) {
    const relative = path.relative(PROJECT_ROOT, configFile);
    const then = path.join(tree, relative);
    if (!relative.startsWith('..') && !path.isAbsolute(relative) && fs.existsSync(then)) configFile = then;
  }
  const dist = path.join(scratchDir('mlflow-gke-baseline-dist-'), 'dist');
  const env = { ...process.env };
  delete env.MLFLOW_GKE_CONFIG;
  execFileSync('node', ['scripts/synth.js', ...(configFile ? ['--config', configFile] : []), '--out', dist, '--quiet'], { cwd: tree, env, stdio: 'pipe' });
  return dist;
}
