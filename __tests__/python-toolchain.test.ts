/**
 * The Python environment the live tests run (python/requirements.in, locked with hashes in
 * requirements.lock, made by scripts/python-env.js): its pins follow the render's, so the tests run
 * the MLflow and JupyterLab the pods run.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_MLFLOW_IMAGE, MIN_MLFLOW, mlflowVersionOf } from '../config/schema/mlflow';
import { imageTag } from '../config/schema/primitives';
import { JUPYTER_COLLABORATION_VERSION } from '../config/schema/workspaces';
import { pythonEnvBin } from './support/python-env';
import { PROJECT_ROOT } from './support/render';

const read = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, 'python', file), 'utf8');
/** name → version of every `name==version` line (extras dropped, names normalised as pip does). */
function pins(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of text.matchAll(/^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)/gm)) found.set(m[1].toLowerCase().replace(/[_.]/g, '-'), m[2]);
  return found;
}
const imageVersion = () => mlflowVersionOf(imageTag(DEFAULT_MLFLOW_IMAGE))!.version.join('.');

describe('one source of truth for the versions', () => {
  test('MLflow is pinned at the version of the default MLflow image tag', () => {
    expect(pins(read('requirements.in')).get('mlflow')).toBe(imageVersion());
    expect(pins(read('requirements.lock')).get('mlflow')).toBe(imageVersion());
  });

  test("jupyter-collaboration is pinned at the render's version", () => {
    expect(pins(read('requirements.in')).get('jupyter-collaboration')).toBe(JUPYTER_COLLABORATION_VERSION);
    expect(pins(read('requirements.lock')).get('jupyter-collaboration')).toBe(JUPYTER_COLLABORATION_VERSION);
  });

  test('JupyterLab is of the 4.4 line, the one the collaboration pin is built for', () => {
    expect(pins(read('requirements.lock')).get('jupyterlab')).toMatch(/^4\.4\.\d+$/);
  });

  test('the lock pins every package it names, each with at least one sha256 hash (pip --require-hashes)', () => {
    const blocks = read('requirements.lock')
      .split(/\n(?=[A-Za-z0-9])/)
      .filter((b) => /^[A-Za-z0-9]/.test(b));
    expect(blocks.length).toBeGreaterThan(50);
    for (const block of blocks)
      expect([block.split(' ')[0], /==\S+/.test(block) && /--hash=sha256:[0-9a-f]{64}/.test(block)]).toEqual([block.split(' ')[0], true]);
    for (const name of pins(read('requirements.in')).keys()) expect(pins(read('requirements.lock')).has(name)).toBe(true);
  });
});

describe("the earlier releases' locks of the upgrade test (python/upgrade)", () => {
  const inputs = fs.readdirSync(path.join(PROJECT_ROOT, 'python', 'upgrade')).filter((f) => f.endsWith('.in'));
  const versionOf = (text: string) => pins(text).get('mlflow')!.split('.').map(Number);
  const before = (a: number[], b: readonly number[]) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

  // Databases of releases older than the oldest image the render runs (MIN_MLFLOW) are upgraded too:
  // an install moving onto the platform. The 3.10 line is the oldest with a -full image and clean stops.
  test('there is one for the 3.10 line and one between it and the oldest image the render runs', () => {
    const versions = inputs.map((f) => versionOf(read(`upgrade/${f}`)));
    expect(versions.some((v) => v[0] === 3 && v[1] === 10)).toBe(true);
    expect(versions.some((v) => before(v, [3, 11, 0]) >= 0 && before(v, MIN_MLFLOW) < 0)).toBe(true);
  });

  test.each(inputs)('%s pins an MLflow older than the image, named in its file name; its lock pins it with hashes', (file) => {
    const lock = read(`upgrade/${file.replace(/\.in$/, '.lock')}`);
    const version = pins(read(`upgrade/${file}`)).get('mlflow')!;
    expect(file).toBe(`mlflow-${version}.in`);
    expect(pins(lock).get('mlflow')).toBe(version);
    expect(before(versionOf(lock), imageVersion().split('.').map(Number))).toBeLessThan(0);
    const blocks = lock.split(/\n(?=[A-Za-z0-9])/).filter((b) => /^[A-Za-z0-9]/.test(b));
    for (const block of blocks)
      expect([block.split(' ')[0], /==\S+/.test(block) && /--hash=sha256:[0-9a-f]{64}/.test(block)]).toEqual([block.split(' ')[0], true]);
  });
});

describe('the environment npm test makes', () => {
  const bin = pythonEnvBin();

  test('runs the pinned MLflow, with its basic-auth app', () => {
    const r = spawnSync(path.join(bin, 'python'), ['-c', 'import mlflow, mlflow.server.auth; print(mlflow.__version__)'], { encoding: 'utf8' });
    expect([r.status, r.stdout.trim()]).toEqual([0, imageVersion()]);
  });

  test("serves on uvicorn's uvloop and httptools, as the -full image does (its gateway and genai extras require uvicorn[standard])", () => {
    // uvicorn picks them itself when they import (--loop auto, --http auto): the bench times the image's server.
    const r = spawnSync(path.join(bin, 'python'), ['-c', 'import uvloop, httptools, uvicorn; print("ok")'], { encoding: 'utf8' });
    expect([r.status, r.stdout.trim()]).toEqual([0, 'ok']);
    const extras = /^Requires-Dist: uvicorn\[standard\].*extra == "(gateway|genai)"$/gm;
    const metadata = spawnSync(path.join(bin, 'python'), ['-c', 'import importlib.metadata as m; print(m.metadata("mlflow").as_string())'], {
      encoding: 'utf8',
    });
    expect(new Set([...metadata.stdout.matchAll(extras)].map((m) => m[1]))).toEqual(new Set(['gateway', 'genai']));
  });

  test('brings shellcheck, so the script lint needs no system package', () => {
    const r = spawnSync(path.join(bin, 'shellcheck'), ['--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^version: 0\.\d+\.\d+$/m);
  });
});
