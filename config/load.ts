/**
 * Reading a config: the embedded default or a YAML file. Every problem becomes one line that names
 * the file, the field path, the bad value and what is allowed.
 */
import * as fs from 'fs';
import * as YAML from 'yaml';
import { z } from 'zod';
import { DEFAULT_CONFIG } from './default';
import { Config, configSchema } from './schema';
import type { CrossFieldRule } from './schema/rules';

export const EMBEDDED_DEFAULT = '<embedded default>';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Reads a config file's bytes; tests inject read failures here (CI runs as root, where none can be provoked). */
export type ReadFile = (file: string) => Buffer;

/**
 * Loads and validates a config file, or the embedded default when no file is given. `label` names the
 * file in messages (the path as the user gave it); a file that cannot be read, is not UTF-8 text or
 * is not valid YAML is one line, like every other problem. `rules` are the rules of the stages above
 * (model/rules.ts), which need values derived from the config: they report through the same channel.
 */
export function loadConfig(
  file: string | undefined,
  label: string = file ?? EMBEDDED_DEFAULT,
  readFile: ReadFile = fs.readFileSync,
  rules: readonly CrossFieldRule[],
): Config {
  if (file === undefined || file === '') return parseConfig(DEFAULT_CONFIG, EMBEDDED_DEFAULT, rules);
  let bytes: Buffer;
  try {
    bytes = readFile(file);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new ConfigError([`${label}: file not found; give the path of a YAML config such as config/dev.yaml`]);
    if (e.code === 'EISDIR') throw new ConfigError([`${label}: is a directory; give the path of a YAML config file inside it`]);
    throw new ConfigError([`${label}: cannot read: ${(e.message ?? String(error)).split('\n')[0]}`]);
  }
  const text = decodeText(bytes, label);
  if (text.trim() === '' || /^(\s*#.*\n?)*\s*$/.test(text))
    throw new ConfigError([`${label}: file is empty; expected a YAML mapping with at least "project" (see config/dev.yaml)`]);
  // Merge keys (`<<: *anchor`) are YAML 1.1; turned on so a config may share blocks between sections.
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true, merge: true });
  if (doc.errors.length > 0)
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const where = pos ? `:${pos.line}:${pos.col}` : '';
        if (e.code === 'DUPLICATE_KEY') return `${label}${where}: invalid YAML: the key ${keyAt(text, e.pos[0])} appears twice in the same mapping; keep one`;
        return `${label}${where}: invalid YAML: ${e.message.split('\n')[0]}`;
      }),
    );
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // The yaml package refuses documents whose aliases would expand beyond maxAliasCount ("billion laughs").
    throw new ConfigError([
      `${label}: invalid YAML: its aliases expand too far (${(error as Error).message}); at most ${MAX_ALIAS_COUNT} alias uses are allowed`,
    ]);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new ConfigError([`${label}: top level is ${describeType(data)}; expected a mapping of config fields such as "project:"`]);
  return parseConfig(data, label, rules);
}

/** The mapping key that starts at `offset`, quoted for a message. */
function keyAt(text: string, offset: number): string {
  const key = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:\n]*?)(?=\s*:(\s|$))/.exec(text.slice(offset))?.[1] ?? text.slice(offset, offset + 1);
  return /^["']/.test(key) ? key : `"${key}"`;
}

/** Alias uses a config may make: far more than any real config needs, far fewer than an expansion attack. */
const MAX_ALIAS_COUNT = 100;

/** The file as UTF-8 text; UTF-16 and binary files are refused with what to do instead. */
function decodeText(bytes: Buffer, label: string): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
    throw new ConfigError([`${label}: is UTF-16 text; save it as UTF-8`]);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError([`${label}: is not UTF-8 text (a binary file?); give a YAML config such as config/dev.yaml`]);
  }
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const line = text.slice(0, nul).split('\n').length;
    throw new ConfigError([`${label}:${line}: holds a NUL byte: not a text file (UTF-16 without a byte-order mark, or binary); save it as UTF-8`]);
  }
  return text;
}

/**
 * Validates an already-parsed config object; `source` names it in error messages. `rules` run after
 * the schema's own cross-field rules, on a config whose every section is valid.
 */
export function parseConfig(data: unknown, source: string, rules: readonly CrossFieldRule[]): Config {
  const schema = rules.length > 0 ? configSchema.superRefine((config, ctx) => rules.forEach((rule) => rule(config, ctx))) : configSchema;
  // jitless: zod would otherwise compile a parser per object schema with `new Function` on first use,
  // which costs more than it saves for the one parse a process makes (zod v4 core/schemas.js,
  // ZodObject `generateFastpass`; `ctx.jitless` skips it). The result is the same either way.
  const result = schema.safeParse(data, { error: defaultMessage, reportInput: true, jitless: true });
  if (result.success) return result.data;
  const lines = result.error.issues.flatMap((issue) => formatIssue(issue, data, source));
  throw new ConfigError([...new Set(lines)]);
}

function formatIssue(issue: z.core.$ZodIssue, data: unknown, source: string): string[] {
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(issue.path);
    return issue.keys.map((key) => {
      const path = formatPath([...issue.path, key]);
      const hint = closest(key, allowed);
      return `${source}: ${path}: unknown field${hint ? ` (did you mean "${hint}"?)` : ''}; allowed here: ${allowed.join(', ')}`;
    });
  }
  const path = formatPath(issue.path);
  const value = lookup(data, issue.path);
  // A rule about a default names the default it saw (the file does not state it).
  const input = (issue as { input?: unknown }).input;
  const shown = value.found ? formatValue(value.value) : input !== undefined ? formatValue(input) : '(missing)';
  return [`${source}: ${path || '(top level)'}: ${shown} ${issue.message.startsWith('is ') ? '' : 'is not allowed: '}${issue.message}`];
}

/** Messages for issues whose schema gave none: say what is allowed, in the same voice as ours. */
function defaultMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `is required (${describeExpected(issue.expected)})`;
      return `must be ${describeExpected(issue.expected)}, not ${describeType(issue.input)}`;
    case 'invalid_value':
      return `must be one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'array') return `must list at least ${issue.minimum} item(s)`;
      return `must be ${issue.inclusive ? 'at least' : 'greater than'} ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'array') return `must list at most ${issue.maximum} item(s)`;
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}`;
    case 'invalid_union':
      return 'does not match any allowed form';
    default:
      return undefined;
  }
}

function describeExpected(expected: string): string {
  const words: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    array: 'a list',
    object: 'a mapping',
  };
  return words[expected] ?? expected;
}

function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value} (${formatValue(value)})`;
}

function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

function formatValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function lookup(data: unknown, path: PropertyKey[]): { found: boolean; value?: unknown } {
  let current: unknown = data;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !(key in (current as object))) return { found: false };
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: current };
}

/** The field names the schema allows at a path, for "unknown field" messages. */
function allowedKeys(path: PropertyKey[]): string[] {
  let schema: z.ZodType | undefined = configSchema;
  for (const key of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[String(key)];
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else return [];
  }
  const object = unwrap(schema);
  return object instanceof z.ZodObject ? Object.keys(object.shape).filter((k) => k !== '$schema') : [];
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (let i = 0; i < 10 && current; i++) {
    const def = (current as unknown as { _zod: { def: { innerType?: z.ZodType; in?: z.ZodType } } })._zod.def;
    const inner = def.innerType ?? def.in;
    if (!inner) return current;
    current = inner;
  }
  return current;
}

/** The allowed name closest to a typo, when it is close enough to be a likely fix. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(word.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(word.length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const kept = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = kept;
    }
  }
  return row[b.length];
}
