/**
 * Where `npm run schemas` keeps the schema folder: `${XDG_CACHE_HOME:-~/.cache}/mlflow-gke/schemas/<manifest
 * hash>/`, laid out like any schema folder (`kubernetes/<version>/_definitions.json`, `crds/<group>/<file>`).
 * One folder per manifest: a changed pin gets a new folder, never a mix of old and new files.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SCHEMA_FILES, SchemaFile } from './manifest';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The folder that holds one schema folder per manifest. XDG Base Directory Specification
 * (https://specifications.freedesktop.org/basedir-spec/latest/): when `$XDG_CACHE_HOME` is "either not
 * set or empty, a default equal to $HOME/.cache should be used", and a relative path in it is invalid
 * and to be ignored.
 */
export function cacheRoot(env: Env = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'mlflow-gke', 'schemas');
}

/** The first 16 hex digits of a sha256 over every entry's path, URL and hash, in path order. */
export function manifestHash(files: readonly SchemaFile[] = SCHEMA_FILES): string {
  const lines = [...files].sort((a, b) => a.path.localeCompare(b.path)).map((f) => `${f.path} ${f.url} ${f.sha256}\n`);
  return createHash('sha256').update(lines.join('')).digest('hex').slice(0, 16);
}

/** The schema folder `npm run schemas` writes for this manifest. */
export function cachedSchemaDir(files: readonly SchemaFile[] = SCHEMA_FILES, root = cacheRoot()): string {
  return path.join(root, manifestHash(files));
}

/**
 * True when every file of the manifest is in `dir`. The download moves a folder into place only after
 * every file in it was verified, so a folder that has them all is a finished one.
 */
export function isComplete(dir: string, files: readonly SchemaFile[] = SCHEMA_FILES): boolean {
  return files.every((f) => fs.statSync(path.join(dir, f.path), { throwIfNoEntry: false })?.isFile() ?? false);
}
