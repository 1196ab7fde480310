/**
 * Reading manifests: files, directories (every *.yaml / *.yml below them, sorted) and `-` for stdin.
 * Kustomize's own descriptors (kustomize.config.k8s.io) are not cluster objects and are skipped;
 * `List` objects are unpacked.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { toFinding } from './check';
import type { Finding, Json, SourceObject } from './types';

export class InputError extends Error {}

export interface Loaded {
  readonly objects: SourceObject[];
  /** Unreadable documents, as `input.invalid` findings. */
  readonly problems: Finding[];
  readonly files: string[];
}

/**
 * Objects of YAML files and directories. Relative paths are taken from `base` (where the user ran the
 * command) and reported as given.
 */
export function loadPaths(paths: readonly string[], readStdin: () => string = () => fs.readFileSync(0, 'utf8'), base: string = process.cwd()): Loaded {
  const real = (shown: string) => path.resolve(base, shown);
  const objects: SourceObject[] = [];
  const problems: Finding[] = [];
  const files: string[] = [];
  for (const p of paths) {
    if (p === '-') {
      files.push('-');
      parseInto('-', readStdin(), objects, problems);
      continue;
    }
    let stat: fs.Stats;
    try {
      stat = fs.statSync(real(p));
    } catch {
      throw new InputError(`${p}: no such file or directory; give YAML files, directories of them, or - for stdin`);
    }
    const list = stat.isDirectory() ? yamlFilesUnder(p, real) : [p];
    if (stat.isDirectory() && list.length === 0) throw new InputError(`${p}: directory holds no .yaml or .yml file`);
    for (const file of list) {
      files.push(file);
      parseInto(file, fs.readFileSync(real(file), 'utf8'), objects, problems);
    }
  }
  return { objects, problems, files };
}

function yamlFilesUnder(dir: string, real: (shown: string) => string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(real(dir), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...yamlFilesUnder(full, real));
    else if (/\.ya?ml$/i.test(entry.name)) out.push(full);
  }
  return out;
}

/** Parses one file's text into objects; bad documents become findings, not exceptions. */
export function parseInto(file: string, text: string, objects: SourceObject[], problems: Finding[]): void {
  const docs = YAML.parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, index) => {
    const bad = (message: string, manifest: Json = {}) =>
      problems.push(
        toFinding('input.invalid', 'error', { object: { file, doc: index, manifest }, path: '', message, fix: 'fix the document or remove it from the input' }),
      );
    if (doc.errors.length > 0) {
      const pos = doc.errors[0].linePos?.[0];
      bad(`invalid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${doc.errors[0].message.split('\n')[0]}`);
      return;
    }
    const data: unknown = doc.toJS();
    if (data === null || data === undefined) return;
    const add = (m: unknown, where: string): void => {
      if (m === null || typeof m !== 'object' || Array.isArray(m)) {
        bad(`${where}is not a mapping`);
        return;
      }
      const manifest = m as Json;
      if (typeof manifest.apiVersion === 'string' && manifest.apiVersion.startsWith('kustomize.config.k8s.io/')) return;
      if (!manifest.apiVersion || !manifest.kind || !manifest.metadata?.name) bad(`${where}lacks apiVersion, kind or metadata.name`, manifest);
      else objects.push({ file, doc: index, manifest });
    };
    const d = data as Json;
    if (d && typeof d === 'object' && !Array.isArray(d) && d.kind === 'List' && Array.isArray(d.items))
      d.items.forEach((item: unknown, i: number) => add(item, `List item ${i} `));
    else add(data, '');
  });
}

/** Objects of in-memory files (a render, or kustomize output), e.g. for tests. */
export function loadTexts(entries: readonly { readonly file: string; readonly text: string }[]): Loaded {
  const objects: SourceObject[] = [];
  const problems: Finding[] = [];
  for (const e of entries) parseInto(e.file, e.text, objects, problems);
  return { objects, problems, files: entries.map((e) => e.file) };
}
