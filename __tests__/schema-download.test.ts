/**
 * `npm run schemas`: the pinned files, served by a local stand-in for raw.githubusercontent.com at their
 * upstream URL paths, download byte for byte as the schema folder the tests validate with. Other bytes,
 * or a missing file, fail with the URL and leave the cache as it was.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cachedSchemaDir, manifestHash } from '../schemas/cache';
import { downloadSchemas, SchemaDownloadError, sha256, sourceUrl, UPSTREAM_BASE_URL } from '../schemas/download';
import { SCHEMA_FILES, SchemaFile } from '../schemas/manifest';
import { schemaDir } from './support/schemas';
import { serveFiles } from './support/schema-server';
import { strictTest } from './support/strict-tests';

const PROJECT_ROOT = path.resolve(__dirname, '..');

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-schemas-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const upstreamPath = (f: SchemaFile): string => new URL(f.url).pathname;

/** Every file under `dir` (dot-folders included) with the sha256 of its bytes: what "as it was" is compared by. */
function contents(dir: string): Record<string, string> {
  if (!fs.existsSync(dir)) return {};
  const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(dir, f)).isFile());
  return Object.fromEntries(files.sort().map((f) => [f, sha256(fs.readFileSync(path.join(dir, f)))]));
}

/** `npm run schemas` (scripts/schemas.ts) with these variables added. */
function runCli(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'),
      ['scripts/schemas.ts'],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run schemas against the pinned manifest', () => {
  strictTest('every pinned file, served at its upstream path, lands in the cache byte for byte as the schema folder the tests validate with', async () => {
    const served = new Map(SCHEMA_FILES.map((f) => [upstreamPath(f), fs.readFileSync(path.join(schemaDir(), f.path))]));
    // The pins are the hashes of the very files validated against.
    expect(SCHEMA_FILES.filter((f) => sha256(served.get(upstreamPath(f))!) !== f.sha256).map((f) => f.path)).toEqual([]);
    const server = await serveFiles(served);
    try {
      const { code, stdout, stderr } = await runCli({ XDG_CACHE_HOME: tmp, MLFLOW_GKE_SCHEMAS_BASE_URL: server.baseUrl });
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      const root = path.join(tmp, 'mlflow-gke', 'schemas');
      const cache = cachedSchemaDir(SCHEMA_FILES, root);
      expect(stdout.trim()).toBe(`schemas: ${SCHEMA_FILES.length} files downloaded and verified into ${cache}`);
      expect([...server.requests].sort()).toEqual([...served.keys()].sort());
      expect(SCHEMA_FILES.filter((f) => !fs.readFileSync(path.join(cache, f.path)).equals(served.get(upstreamPath(f))!)).map((f) => f.path)).toEqual([]);
      // The one folder of this manifest, and no staging folder left beside it.
      expect(fs.readdirSync(root)).toEqual([manifestHash(SCHEMA_FILES)]);
    } finally {
      await server.close();
    }
  });

  test('with nothing to download, it exits non-zero naming every URL that failed, and writes nothing', async () => {
    const server = await serveFiles(new Map());
    try {
      const { code, stderr } = await runCli({ XDG_CACHE_HOME: tmp, MLFLOW_GKE_SCHEMAS_BASE_URL: server.baseUrl });
      expect(code).toBe(1);
      expect(stderr).toContain(`schemas: ${SCHEMA_FILES.length} file(s) failed; nothing was written:`);
      const missing = SCHEMA_FILES.filter((f) => !stderr.includes(`${server.baseUrl}${upstreamPath(f)}: HTTP 404 Not Found`)).map((f) => f.path);
      expect(missing).toEqual([]);
      expect(contents(tmp)).toEqual({});
    } finally {
      await server.close();
    }
  });
});

describe('downloading verified files', () => {
  const pin = (name: string, body: string): SchemaFile => ({
    path: `crds/example/${name}`,
    url: `${UPSTREAM_BASE_URL}/example/schemas/${'0123456789'.repeat(4)}/deploy/${name}`,
    sha256: sha256(Buffer.from(body)),
  });
  const files = [pin('a.yaml', 'kind: A\n'), pin('b.yaml', 'kind: B\n')];
  const [a, b] = files;
  const genuine = new Map([
    [upstreamPath(a), Buffer.from('kind: A\n')],
    [upstreamPath(b), Buffer.from('kind: B\n')],
  ]);

  async function attempt(served: ReadonlyMap<string, Buffer>, root: string) {
    const server = await serveFiles(served);
    try {
      const outcome = await downloadSchemas({ files, baseUrl: server.baseUrl, cacheRoot: root }).then(
        (result) => ({ result, error: undefined }),
        (error: unknown) => ({ result: undefined, error }),
      );
      return { ...outcome, baseUrl: server.baseUrl, requests: server.requests };
    } finally {
      await server.close();
    }
  }

  test('puts every file at its layout path in the folder of its manifest', async () => {
    const { result, error } = await attempt(genuine, tmp);
    expect(error).toBeUndefined();
    expect(result).toEqual({ dir: path.join(tmp, manifestHash(files)), downloaded: 2 });
    expect(contents(tmp)).toEqual({ [path.join(manifestHash(files), a.path)]: a.sha256, [path.join(manifestHash(files), b.path)]: b.sha256 });
  });

  test('a file with other bytes than pinned fails with its URL, the expected and the actual hash, and writes nothing', async () => {
    const tampered = Buffer.from('kind: B\nextra: true\n');
    const { error, baseUrl } = await attempt(new Map([...genuine, [upstreamPath(b), tampered]]), tmp);
    expect(error).toBeInstanceOf(SchemaDownloadError);
    expect((error as SchemaDownloadError).problems).toEqual([
      `${baseUrl}${upstreamPath(b)}: sha256 mismatch for ${b.path}: expected ${b.sha256}, got ${sha256(tampered)} (${tampered.length} bytes)`,
    ]);
    expect((error as Error).message).toContain(`expected ${b.sha256}, got ${sha256(tampered)}`);
    expect(contents(tmp)).toEqual({});
  });

  test('a failed download leaves the folder already in the cache as it was', async () => {
    const dir = path.join(tmp, manifestHash(files));
    fs.mkdirSync(path.join(dir, 'crds', 'example'), { recursive: true });
    // Both files differ from the pins, so the download is attempted, and a file written in place would show.
    fs.writeFileSync(path.join(dir, a.path), 'kind: A, edited by hand\n');
    fs.writeFileSync(path.join(dir, b.path), 'kind: B, edited by hand\n');
    const before = contents(tmp);
    const { error } = await attempt(new Map([[upstreamPath(a), Buffer.from('kind: A\n')]]), tmp);
    expect(error).toBeInstanceOf(SchemaDownloadError);
    expect(contents(tmp)).toEqual(before);
  });

  test('a file the server does not have fails with its URL and the HTTP status', async () => {
    const { error, baseUrl } = await attempt(new Map([[upstreamPath(a), Buffer.from('kind: A\n')]]), tmp);
    expect((error as SchemaDownloadError).problems).toEqual([`${baseUrl}${upstreamPath(b)}: HTTP 404 Not Found`]);
    expect(contents(tmp)).toEqual({});
  });

  test('a folder with a file edited since is replaced by verified bytes', async () => {
    await attempt(genuine, tmp);
    fs.writeFileSync(path.join(tmp, manifestHash(files), b.path), 'kind: B, edited by hand\n');
    const { result } = await attempt(genuine, tmp);
    expect(result?.downloaded).toBe(2);
    expect(contents(tmp)).toEqual({ [path.join(manifestHash(files), a.path)]: a.sha256, [path.join(manifestHash(files), b.path)]: b.sha256 });
  });

  test('a complete, verified folder is not downloaded again', async () => {
    await attempt(genuine, tmp);
    const { result, requests } = await attempt(genuine, tmp);
    expect(result).toEqual({ dir: path.join(tmp, manifestHash(files)), downloaded: 0 });
    expect(requests).toEqual([]);
  });

  test('a base URL replaces only the upstream host; a URL elsewhere is refused', () => {
    expect(sourceUrl(a)).toBe(a.url);
    expect(sourceUrl(a, 'http://127.0.0.1:8080/mirror/')).toBe(`http://127.0.0.1:8080/mirror${upstreamPath(a)}`);
    expect(() => sourceUrl({ ...a, url: 'https://example.com/a.yaml' }, 'http://127.0.0.1:8080')).toThrow(
      'schemas: crds/example/a.yaml: URL outside https://raw.githubusercontent.com: https://example.com/a.yaml',
    );
  });
});
