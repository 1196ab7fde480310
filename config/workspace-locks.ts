/**
 * The locks of what the workspaces install at start (config/workspace-locks/*.lock, made from their
 * .in files by `npm run workspace:lock`, scripts/workspace-locks.sh): pip requirement files in which
 * every package is pinned with `==` and carries the sha256 of each of its wheels. The install steps
 * run pip and uv in hash-checking mode (`--require-hashes`) on them, so every file downloaded is one
 * the lock names, dependencies included. The config's rules (model/rules.ts) refuse a render whose
 * pinned versions a lock does not hold; the charts put the lock files into the workspace's files.
 */
import * as fs from 'fs';
import * as path from 'path';

/** The locks, by name: `config/workspace-locks/<name>.lock`. */
export const WORKSPACE_LOCKS = {
  /** mlflow-skinny and its dependencies: the MLflow client in Jupyter and VS Code. */
  mlflowClient: 'mlflow-client',
  /** pip itself, in the VS Code Python environment. */
  pip: 'pip',
  /** jupyter-collaboration and its parts, less what the Jupyter image's JupyterLab brings. */
  jupyterCollaboration: 'jupyter-collaboration',
} as const;
export type WorkspaceLock = keyof typeof WORKSPACE_LOCKS;

/** Where the lock files live, from the project root. */
export const WORKSPACE_LOCK_DIR = 'config/workspace-locks';

/** One requirement of a lock: `name==version [; marker]` and its hashes. */
export interface LockedRequirement {
  /** Normalised (PEP 503): lower case, runs of `-_.` as one `-`. */
  readonly name: string;
  readonly version: string;
  readonly marker?: string;
  readonly hashes: readonly string[];
}

/** PEP 503 normalisation, which pip applies when it compares names. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * Parses a lock: comments and blank lines are skipped, a trailing backslash continues a line. Throws
 * on a line that is not `name==version [; marker]` followed by at least one `--hash=sha256:<64 hex>`,
 * so an unpinned or unhashed entry can never reach a pod.
 */
export function parseLock(text: string, file: string): LockedRequirement[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
  return logical.map((line) => {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)\s*(?:;\s*(.*?))?\s*((?:--hash=\S+\s*)+)$/.exec(line);
    if (!m) throw new Error(`${file}: "${line.slice(0, 80)}" is not a pinned requirement with hashes (name==version [; marker] --hash=sha256:...)`);
    const hashes = m[4].trim().split(/\s+/);
    for (const h of hashes) if (!/^--hash=sha256:[0-9a-f]{64}$/.test(h)) throw new Error(`${file}: ${m[1]}: "${h}" is not a sha256 hash`);
    return { name: normalizeName(m[1]), version: m[2], ...(m[3] ? { marker: m[3] } : {}), hashes: hashes.map((h) => h.slice('--hash='.length)) };
  });
}

const texts = new Map<WorkspaceLock, string>();
let root: string | undefined;

/** The nearest folder at or above `from` that holds the locks (the project root, also from a bundle). */
function projectRoot(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, WORKSPACE_LOCK_DIR, `${WORKSPACE_LOCKS.mlflowClient}.lock`))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no ${WORKSPACE_LOCK_DIR} at or above ${from}`);
  }
}

/** The project-relative path of a lock. */
export function lockPath(lock: WorkspaceLock): string {
  return `${WORKSPACE_LOCK_DIR}/${WORKSPACE_LOCKS[lock]}.lock`;
}

/** The text of a lock file, read once per process; it is checked when first read. */
export function lockText(lock: WorkspaceLock): string {
  let text = texts.get(lock);
  if (text === undefined) {
    root ??= projectRoot(__dirname);
    text = fs.readFileSync(path.join(root, lockPath(lock)), 'utf8');
    parseLock(text, lockPath(lock));
    texts.set(lock, text);
  }
  return text;
}

/** The parsed requirements of a lock. */
export function lockedRequirements(lock: WorkspaceLock): LockedRequirement[] {
  return parseLock(lockText(lock), lockPath(lock));
}

/**
 * The `name==version` requirements of `wanted` that the lock does not hold at that exact version, as
 * `name==version (the lock has ...)` phrases; empty when it holds them all.
 */
export function missingFromLock(lock: WorkspaceLock, wanted: readonly string[]): string[] {
  const locked = lockedRequirements(lock);
  return wanted.flatMap((requirement) => {
    const [name, version] = requirement.split('==');
    const same = locked.filter((r) => r.name === normalizeName(name));
    if (same.some((r) => r.version === version)) return [];
    return [`${requirement} (${same.length > 0 ? `the lock has ${same.map((r) => `${name}==${r.version}`).join(', ')}` : 'not in the lock'})`];
  });
}
