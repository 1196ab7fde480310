/**
 * Writing a render to disk, safely: synth never deletes anything it did not write.
 *
 * The output folder is replaced only when it does not exist, is empty, or holds an earlier render:
 * one whose marker file lists every file in it, or (once, for folders written before the marker
 * existed) one whose every entry has the render layout. Anything else is refused before a byte is
 * written. The new render is written beside the folder and swapped in by rename, so a failure at any
 * point leaves the folder as it was; afterwards the earlier render's own files are removed one by one,
 * never a whole tree.
 *
 * Every file-system call goes through one `OutputFs`, so tests inject permission and disk errors
 * (CI runs as root, where neither can be provoked for real).
 */
import { randomBytes } from 'crypto';
import * as nodeFs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findProjectRoot } from './lib/script-files';
import type { RenderedFile } from './render';

/** The file-system calls writing an output makes; Node's `fs` unless a test injects failures. */
export type OutputFs = Pick<
  typeof nodeFs,
  'lstatSync' | 'mkdirSync' | 'readdirSync' | 'readFileSync' | 'renameSync' | 'rmdirSync' | 'unlinkSync' | 'writeFileSync'
>;

/** Marks a folder as a render and lists its files. A dotfile without a YAML or JSON extension, so `kubectl apply -f` skips it. */
export const RENDER_MARKER = '.mlflow-gke-render';

const MARKER_HEADER = [
  '# Written by mlflow-gke synth: the files of this render, one per line.',
  '# synth replaces this folder only while it holds these files and no others; it never deletes anything else.',
];

/**
 * Top-level entries of the project that hold its sources (or its tools' state). Output inside any of
 * them is refused; a test keeps the list in step with the repository.
 */
export const PROJECT_SOURCES: readonly string[] = [
  '.ci',
  '.git',
  '.github',
  '__tests__',
  'bench',
  'charts',
  'common',
  'config',
  'docs',
  'examples',
  'imports',
  'local',
  'node_modules',
  'policy',
  'python',
  'schemas',
  'scripts',
  'synth',
];

/** A refusal or failure to write the output: one line, naming the folder and the reason. */
export class OutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputError';
  }
}

export interface WriteOutputOptions {
  /** File-system calls; tests inject failures here. @default Node's fs */
  readonly fs?: OutputFs;
  /** The project root, whose repository and sources are never an output. @default the root above this module */
  readonly root?: string;
  /** The home directory, never an output. @default os.homedir() */
  readonly home?: string;
  /** How messages name the folder: as the user gave it. @default the absolute path */
  readonly label?: string;
}

/**
 * Replaces `dir` (an absolute path) with exactly `files` plus the marker. Throws `OutputError`, with
 * `dir` untouched, when the folder may not be replaced or the file system fails.
 * @returns a warning when the earlier render could not be removed completely (its folder is kept)
 */
export function writeOutput(files: readonly RenderedFile[], dir: string, options: WriteOutputOptions = {}): string | undefined {
  const fs = options.fs ?? nodeFs;
  const target = path.resolve(dir);
  const label = displayDir(options.label ?? target);
  const previous = previousRender(fs, target, label, options.root ?? findProjectRoot(__dirname), options.home ?? os.homedir());
  const parent = path.dirname(target);
  const staging = path.join(parent, `.${path.basename(target)}.new-${randomBytes(6).toString('hex')}`);
  try {
    fs.mkdirSync(parent, { recursive: true });
    // mkdir (not mkdtemp, which makes 0700 folders): the output gets the user's umask.
    fs.mkdirSync(staging);
  } catch (error) {
    throw new OutputError(`${label}: cannot write: ${reason(error)}; nothing was changed`);
  }
  try {
    const listed = [...files.map((f) => f.path)].sort();
    for (const file of files) {
      const dest = path.join(staging, ...file.path.split('/'));
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.writeFileSync(dest, file.content);
    }
    fs.writeFileSync(path.join(staging, RENDER_MARKER), [...MARKER_HEADER, ...listed, ''].join('\n'));
  } catch (error) {
    removeOwn(fs, staging, [...files.map((f) => f.path), RENDER_MARKER]);
    throw new OutputError(`${label}: cannot write: ${reason(error)}; nothing was changed`);
  }
  const old = previous ? staging.replace('.new-', '.old-') : undefined;
  try {
    if (old) fs.renameSync(target, old);
    try {
      fs.renameSync(staging, target);
    } catch (error) {
      if (old) fs.renameSync(old, target);
      throw error;
    }
  } catch (error) {
    removeOwn(fs, staging, [...files.map((f) => f.path), RENDER_MARKER]);
    throw new OutputError(`${label}: cannot replace: ${reason(error)}; nothing was changed`);
  }
  if (old && previous && !removeOwn(fs, old, previous))
    return `${displayDir(old)}: the earlier render was kept: it holds files synth did not write (remove it by hand)`;
  return undefined;
}

/**
 * Why `target` may not be replaced, as an `OutputError`; otherwise the files of the earlier render it
 * holds (relative paths), or undefined when it does not exist.
 */
function previousRender(fs: OutputFs, target: string, label: string, root: string, home: string): string[] | undefined {
  const refuse = (why: string) => new OutputError(`${label}: refusing to write here: ${why}; nothing was changed`);
  if (target === path.parse(target).root) throw refuse('it is the file-system root');
  if (target === path.resolve(home)) throw refuse('it is the home directory');
  if (target === root || isInside(target, root)) throw refuse(`it ${target === root ? 'is' : 'contains'} the mlflow-gke repository`);
  if (isInside(root, target)) {
    const top = path.relative(root, target).split(path.sep)[0];
    if (PROJECT_SOURCES.includes(top)) throw refuse(`it is inside the project's ${top}/ folder`);
  }
  let stat: nodeFs.Stats;
  try {
    stat = fs.lstatSync(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OutputError(`${label}: cannot read: ${reason(error)}; nothing was changed`);
  }
  if (stat.isSymbolicLink()) throw refuse('it is a symbolic link (give the folder it points to)');
  if (!stat.isDirectory()) throw refuse('it is a file, not a folder');
  let marker: string | undefined;
  let own: Set<string> | undefined;
  let entries: string[];
  try {
    const top = fs.readdirSync(target);
    if (top.includes('.git')) throw refuse('it is a git repository');
    if (top.includes(RENDER_MARKER)) {
      marker = fs.readFileSync(path.join(target, RENDER_MARKER), 'utf8');
      own = new Set(marker.split('\n').filter((line) => line && !line.startsWith('#')));
    }
    // Descends only into folders the render may hold, so a large foreign folder is refused at once.
    const ownFolders =
      own &&
      new Set(
        [...own].flatMap((f) =>
          f
            .split('/')
            .slice(0, -1)
            .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
        ),
      );
    entries = listTree(fs, target, (folder) => (ownFolders ? ownFolders.has(folder) : folder === 'tests'));
  } catch (error) {
    if (error instanceof OutputError) throw error;
    throw new OutputError(`${label}: cannot read: ${reason(error)}; nothing was changed`);
  }
  if (own) {
    const foreign = entries.filter((e) => e !== RENDER_MARKER && !own.has(e) && !entries.some((f) => own.has(f) && f.startsWith(`${e}/`)));
    if (foreign.length > 0) throw refuse(`it holds ${describe(foreign)} that the earlier render did not write`);
    return entries;
  }
  const unknown = entries.filter((e) => !LEGACY_LAYOUT.test(e));
  if (unknown.length > 0) throw refuse(`it is not empty and not an earlier render: it holds ${describe(unknown)}`);
  return entries;
}

/** Entries of a render from before the marker: numbered manifests, the Kustomization, tests/ with its YAML. */
const LEGACY_LAYOUT = /^(\d{4}-[a-z0-9-]+\.yaml|Kustomization|tests|tests\/[a-z0-9-]+\.yaml)$/;

/**
 * Entries under `dir` (files and folders, `/`-separated, folders before their contents), descending
 * only into the folders `descend` admits; symbolic links are never followed.
 */
function listTree(fs: OutputFs, dir: string, descend: (folder: string) => boolean, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    out.push(rel);
    if (entry.isDirectory() && descend(rel)) out.push(...listTree(fs, dir, descend, rel));
  }
  return out;
}

/**
 * Removes the listed files of `dir`, then its folders that are left empty, deepest first: nothing
 * unlisted is ever deleted. Returns whether `dir` itself is gone.
 */
function removeOwn(fs: OutputFs, dir: string, entries: readonly string[]): boolean {
  const folders = new Set<string>(['']);
  for (const entry of entries) {
    for (let p = path.posix.dirname(entry); p !== '.'; p = path.posix.dirname(p)) folders.add(p);
    try {
      if (!fs.lstatSync(path.join(dir, entry)).isDirectory()) fs.unlinkSync(path.join(dir, entry));
      else folders.add(entry);
    } catch {
      // already gone, or not removable: the folder check below keeps what is left
    }
  }
  let gone = true;
  const depth = (folder: string) => (folder === '' ? 0 : folder.split('/').length);
  for (const folder of [...folders].sort((a, b) => depth(b) - depth(a) || (a < b ? 1 : -1))) {
    try {
      fs.rmdirSync(path.join(dir, folder));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') gone = false;
    }
  }
  return gone;
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function describe(entries: readonly string[]): string {
  const shown = entries
    .slice(0, 3)
    .map((e) => `"${e}"`)
    .join(', ');
  return entries.length > 3 ? `${shown} and ${entries.length - 3} more` : shown;
}

/** A folder as the user reads it: with one trailing separator. */
export function displayDir(dir: string): string {
  const trimmed = dir.length > 1 ? dir.replace(/[\\/]+$/, '') : dir;
  return trimmed === '' || trimmed.endsWith(path.sep) ? trimmed || '/' : `${trimmed}/`;
}

/** A file-system error as one line: Node's message already names the call and the path. */
export function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return (e?.message ?? String(error)).split('\n')[0];
}
