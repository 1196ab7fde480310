/**
 * Renders to throwaway folders laid out as synth writes them (dist/ and dist/tests/), and lists a
 * folder's files in the order a person applies them: the manifests, then the post-deploy checks.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { renderPlatform } from '../../../synth/render';
import { writeOutput } from '../../../synth/output';
import type { Config } from '../../../config/schema';
import { ManifestFile, renderFiles } from './apply';

const made: string[] = [];
afterAll(() => made.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A fresh folder removed after the test file. */
export function scratchDir(prefix = 'mlflow-gke-cluster-render-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Writes the render of `config` as synth does and returns the folder (its `dist`). */
export function renderToDir(config: Config): string {
  const dist = path.join(scratchDir(), 'dist');
  writeOutput(renderPlatform(config), dist);
  return dist;
}

/** The manifests of a synth folder, then its tests/ checks, as `kubectl apply -f dist` then `-f dist/tests` take them. */
export function distFiles(dist: string): ManifestFile[] {
  const tests = path.join(dist, 'tests');
  return [...renderFiles(dist), ...(fs.existsSync(tests) ? renderFiles(tests).map((f) => ({ ...f, name: `tests/${f.name}` })) : [])];
}
