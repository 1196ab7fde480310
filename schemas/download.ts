/**
 * Downloads the pinned schema files into the cache (`npm run schemas`). Every file is checked against
 * its sha256 before anything lands: the files go to a temporary folder beside the target, and that
 * folder is renamed into place only when all of them were verified. A failure leaves the cache as it
 * was and names, per file, the URL and what went wrong.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { cacheRoot, cachedSchemaDir, isComplete } from './cache';
import { SCHEMA_FILES, SchemaFile } from './manifest';

/** The host every manifest URL starts with; a base URL given to the download replaces it. */
export const UPSTREAM_BASE_URL = 'https://raw.githubusercontent.com';

export interface DownloadOptions {
  readonly files?: readonly SchemaFile[];
  /** Replaces `https://raw.githubusercontent.com` in every URL (a mirror, or a local server in tests). */
  readonly baseUrl?: string;
  /** The folder that holds one schema folder per manifest (default: cacheRoot()). */
  readonly cacheRoot?: string;
  /** Per file, in milliseconds. */
  readonly timeoutMs?: number;
}

export interface DownloadResult {
  readonly dir: string;
  /** Files fetched by this call: 0 when a complete, verified folder was already there. */
  readonly downloaded: number;
}

export class SchemaDownloadError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`schemas: ${problems.length} file(s) failed; nothing was written:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'SchemaDownloadError';
  }
}

/** The URL a file is fetched from: its manifest URL, on `baseUrl` when one is given. */
export function sourceUrl(file: SchemaFile, baseUrl?: string): string {
  if (!file.url.startsWith(`${UPSTREAM_BASE_URL}/`)) throw new Error(`schemas: ${file.path}: URL outside ${UPSTREAM_BASE_URL}: ${file.url}`);
  return baseUrl ? `${baseUrl.replace(/\/+$/, '')}${file.url.slice(UPSTREAM_BASE_URL.length)}` : file.url;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Files whose bytes in `dir` do not have their pinned hash (missing ones included). */
export function unverifiedFiles(dir: string, files: readonly SchemaFile[] = SCHEMA_FILES): string[] {
  return files.filter((f) => !fs.existsSync(path.join(dir, f.path)) || sha256(fs.readFileSync(path.join(dir, f.path))) !== f.sha256).map((f) => f.path);
}

async function fetchVerified(file: SchemaFile, url: string, timeoutMs: number): Promise<Buffer> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    throw new Error(`${url}: request failed: ${(e as Error).message}${cause ? ` (${cause})` : ''}`, { cause: e });
  }
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  const bytes = Buffer.from(await response.arrayBuffer());
  const got = sha256(bytes);
  if (got !== file.sha256) throw new Error(`${url}: sha256 mismatch for ${file.path}: expected ${file.sha256}, got ${got} (${bytes.length} bytes)`);
  return bytes;
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export async function downloadSchemas(options: DownloadOptions = {}): Promise<DownloadResult> {
  const files = options.files ?? SCHEMA_FILES;
  const root = options.cacheRoot ?? cacheRoot();
  const dir = cachedSchemaDir(files, root);
  if (unverifiedFiles(dir, files).length === 0) return { dir, downloaded: 0 };

  fs.mkdirSync(root, { recursive: true });
  const staging = fs.mkdtempSync(path.join(root, `.${path.basename(dir)}.partial-`));
  try {
    const problems: string[] = [];
    await eachLimited(files, 6, async (file) => {
      try {
        const bytes = await fetchVerified(file, sourceUrl(file, options.baseUrl), options.timeoutMs ?? 60_000);
        fs.mkdirSync(path.dirname(path.join(staging, file.path)), { recursive: true });
        fs.writeFileSync(path.join(staging, file.path), bytes);
      } catch (e) {
        problems.push((e as Error).message);
      }
    });
    if (problems.length > 0) throw new SchemaDownloadError(problems.sort());
    swapIn(staging, dir, files);
    return { dir, downloaded: files.length };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Renames the verified `staging` folder to `dir`. A folder already there (incomplete, or with altered
 * files) is moved aside first and removed once the new one is in place; if the rename fails it is put
 * back. When another run moved a complete folder in first, that one stays.
 */
function swapIn(staging: string, dir: string, files: readonly SchemaFile[]): void {
  const old = fs.existsSync(dir) ? `${staging}.old` : undefined;
  if (old) fs.renameSync(dir, old);
  try {
    fs.renameSync(staging, dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const anotherRunWon = (code === 'ENOTEMPTY' || code === 'EEXIST') && isComplete(dir, files);
    if (!anotherRunWon) {
      if (old && !fs.existsSync(dir)) fs.renameSync(old, dir);
      throw e;
    }
  }
  if (old) fs.rmSync(old, { recursive: true, force: true });
}
