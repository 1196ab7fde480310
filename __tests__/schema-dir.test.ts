/**
 * Where the tests find the schema folder ($MLFLOW_GKE_SCHEMAS, else ../shared/schemas, else the folder
 * `npm run schemas` downloaded), and that the manifest pins every file of it the validators read.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cachedSchemaDir, cacheRoot, isComplete, manifestHash } from '../schemas/cache';
import { SCHEMA_FILES, SchemaFile } from '../schemas/manifest';
import { ALL_KUBERNETES_VERSIONS, resolveSchemaDir, schemaDir, schemaFilesRead } from './support/schemas';
import { strictTest } from './support/strict-tests';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-schema-dir-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const pins: SchemaFile[] = [
  { path: 'kubernetes/v1.31.0/_definitions.json', url: 'https://raw.githubusercontent.com/o/r/c/k.json', sha256: 'a'.repeat(64) },
  { path: 'crds/x/y.yaml', url: 'https://raw.githubusercontent.com/o/r/c/y.yaml', sha256: 'b'.repeat(64) },
];

function writeFolder(dir: string, files: readonly SchemaFile[]): void {
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
    fs.writeFileSync(path.join(dir, f.path), '{}');
  }
}

describe('the schema folder the tests read', () => {
  test('MLFLOW_GKE_SCHEMAS comes first, even with ../shared/schemas and a download there', () => {
    const shared = path.join(tmp, 'shared');
    const downloaded = path.join(tmp, 'cache');
    writeFolder(shared, SCHEMA_FILES);
    writeFolder(downloaded, SCHEMA_FILES);
    expect(resolveSchemaDir({ MLFLOW_GKE_SCHEMAS: '/elsewhere' }, shared, downloaded)).toBe('/elsewhere');
  });

  test('then ../shared/schemas beside the project, when it exists', () => {
    const shared = path.join(tmp, 'shared');
    const downloaded = path.join(tmp, 'cache');
    fs.mkdirSync(shared);
    writeFolder(downloaded, SCHEMA_FILES);
    expect(resolveSchemaDir({}, shared, downloaded)).toBe(shared);
  });

  test('then the folder npm run schemas downloaded, when it holds every pinned file', () => {
    const downloaded = path.join(tmp, 'cache');
    writeFolder(downloaded, SCHEMA_FILES);
    expect(resolveSchemaDir({}, path.join(tmp, 'no-shared'), downloaded)).toBe(downloaded);
  });

  test('an incomplete download is not used: with nothing else, the answer is the missing ../shared/schemas', () => {
    const downloaded = path.join(tmp, 'cache');
    writeFolder(downloaded, SCHEMA_FILES.slice(1));
    expect(isComplete(downloaded)).toBe(false);
    expect(resolveSchemaDir({}, path.join(tmp, 'no-shared'), downloaded)).toBe(path.join(tmp, 'no-shared'));
  });

  test('the download lives under $XDG_CACHE_HOME, else ~/.cache; a relative XDG_CACHE_HOME is ignored', () => {
    expect(cacheRoot({ XDG_CACHE_HOME: '/var/cache/me', HOME: '/home/me' })).toBe('/var/cache/me/mlflow-gke/schemas');
    expect(cacheRoot({ HOME: '/home/me' })).toBe('/home/me/.cache/mlflow-gke/schemas');
    expect(cacheRoot({ XDG_CACHE_HOME: '', HOME: '/home/me' })).toBe('/home/me/.cache/mlflow-gke/schemas');
    expect(cacheRoot({ XDG_CACHE_HOME: 'cache', HOME: '/home/me' })).toBe('/home/me/.cache/mlflow-gke/schemas');
    expect(cachedSchemaDir(pins, '/root')).toBe(`/root/${manifestHash(pins)}`);
  });

  test('a changed pin gets a folder of its own; the order of the entries does not matter', () => {
    expect(manifestHash(pins)).toMatch(/^[0-9a-f]{16}$/);
    expect(manifestHash([...pins].reverse())).toBe(manifestHash(pins));
    expect(manifestHash([pins[0], { ...pins[1], sha256: 'c'.repeat(64) }])).not.toBe(manifestHash(pins));
    expect(manifestHash([pins[0], { ...pins[1], url: `${pins[1].url}?v=2` }])).not.toBe(manifestHash(pins));
  });
});

describe('the manifest', () => {
  test('pins each file at a full commit of its upstream repository, under the upstream file name', () => {
    const malformed = SCHEMA_FILES.filter(
      (f) =>
        !/^https:\/\/raw\.githubusercontent\.com\/[\w.-]+\/[\w.-]+\/[0-9a-f]{40}\/[^?#]+$/.test(f.url) ||
        path.posix.basename(f.url) !== path.posix.basename(f.path) ||
        !/^[0-9a-f]{64}$/.test(f.sha256) ||
        !/^(kubernetes\/v\d+\.\d+\.\d+\/_definitions\.json|crds\/[a-z-]+\/[^/]+\.yaml)$/.test(f.path),
    );
    expect(malformed).toEqual([]);
    expect(new Set(SCHEMA_FILES.map((f) => f.path)).size).toBe(SCHEMA_FILES.length);
  });

  test('pins the Kubernetes definitions of every version the validators know', () => {
    const pinned = SCHEMA_FILES.map((f) => f.path);
    expect(ALL_KUBERNETES_VERSIONS.filter((v) => !pinned.includes(`kubernetes/${v}/_definitions.json`))).toEqual([]);
  });

  strictTest('pins exactly the files of the schema folder the validators read, so a download is the folder CI validates with', () => {
    expect(schemaFilesRead(schemaDir())).toEqual(SCHEMA_FILES.map((f) => f.path).sort());
  });
});
