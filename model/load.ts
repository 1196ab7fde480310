/**
 * Reading a config for a render: the schema and its rules (config/load.ts) plus the rules that need
 * derived values (rules.ts). Everything outside config/ and model/ reads configs through here, so no
 * caller can skip a rule.
 */
import * as fs from 'fs';
import { ConfigError, EMBEDDED_DEFAULT, loadConfig as loadConfigWith, parseConfig as parseConfigWith, ReadFile } from '../config/load';
import type { Config } from '../config/schema';
import { MODEL_RULES } from './rules';

export { ConfigError, EMBEDDED_DEFAULT };
export type { ReadFile };

/** A config file, or the embedded default when no file is given; `label` names it in messages. */
export function loadConfig(file?: string, label: string = file ?? EMBEDDED_DEFAULT, readFile: ReadFile = fs.readFileSync): Config {
  return loadConfigWith(file, label, readFile, MODEL_RULES);
}

/** An already-parsed config object; `source` names it in messages. */
export function parseConfig(data: unknown, source: string): Config {
  return parseConfigWith(data, source, MODEL_RULES);
}
