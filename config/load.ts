/**
 * Reading a config: the embedded default or a YAML file. Every problem becomes one line that names
 * the file, the field path, the bad value and what is allowed.
 */
import * as fs from 'fs';
import * as YAML from 'yaml';
import { z } from 'zod';
import { DEFAULT_CONFIG } from './default';
import { Config, configSchema } from './schema';

export const EMBEDDED_DEFAULT = '<embedded default>';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Loads and validates a config file, or the embedded default when no file is given. */
export function loadConfig(file?: string): Config {
  if (file === undefined || file === '') return parseConfig(DEFAULT_CONFIG, EMBEDDED_DEFAULT);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new ConfigError([`${file}: file not found; give the path of a YAML config such as config/dev.yaml`]);
  }
  if (stat.isDirectory()) throw new ConfigError([`${file}: is a directory; give the path of a YAML config file inside it`]);
  const text = fs.readFileSync(file, 'utf8');
  if (text.trim() === '' || /^(\s*#.*\n?)*\s*$/.test(text))
    throw new ConfigError([`${file}: file is empty; expected a YAML mapping with at least "project" (see config/dev.yaml)`]);
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0)
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const where = pos ? `:${pos.line}:${pos.col}` : '';
        return `${file}${where}: invalid YAML: ${e.message.split('\n')[0]}`;
      }),
    );
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new ConfigError([`${file}: top level is ${describeType(data)}; expected a mapping of config fields such as "project:"`]);
  return parseConfig(data, file);
}

/** Validates an already-parsed config object; `source` names it in error messages. */
export function parseConfig(data: unknown, source: string): Config {
  const result = configSchema.safeParse(data, { error: defaultMessage });
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
  const shown = value.found ? formatValue(value.value) : '(missing)';
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
