/** Rendering helpers for tests: never touch `dist/`. */
import * as path from 'path';
import * as YAML from 'yaml';
import { ConfigError, loadConfig, parseConfig } from '../../model/load';
import type { Config, ConfigInput } from '../../config/schema';
import { DEFAULT_CONFIG } from '../../config/default';
import { EXAMPLE_CONFIGS } from '../../config/examples';
import { renderPlatform } from '../../synth/render';
import type { Manifest, RenderedFile } from '../../synth/rendered-file';

export type { Manifest };

export const PROJECT_ROOT = path.resolve(__dirname, '../..');
export const CONFIG_DIR = path.join(PROJECT_ROOT, 'config');

export { EXAMPLE_CONFIGS };

/** The embedded default and every example config, each under a short name. */
export function configsUnderTest(): { name: string; config: Config }[] {
  return [
    { name: 'default', config: loadConfig() },
    ...EXAMPLE_CONFIGS.map((f) => ({ name: f.replace(/\.ya?ml$/, ''), config: loadConfig(path.join(CONFIG_DIR, f)) })),
  ];
}

/** The embedded default with overrides merged in (objects deep, arrays replaced), validated. */
export function configWith(overrides: DeepPartial<ConfigInput>): Config {
  return parseConfig(merge(structuredClone(DEFAULT_CONFIG), overrides), 'test config');
}

/** The message of the ConfigError that the embedded default with these overrides raises; fails when it is accepted. */
export function configError(overrides: DeepPartial<ConfigInput>): string {
  try {
    configWith(overrides);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('config was accepted');
}

export type DeepPartial<T> = T extends (infer U)[] ? U[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

function merge(base: any, over: any): any {
  if (over === undefined) return base;
  if (Array.isArray(over) || over === null || typeof over !== 'object' || typeof base !== 'object' || base === null) return over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}

/** Every object of a render, `dist/tests/` included unless `mainOnly`. */
export function objectsOf(files: readonly RenderedFile[], options: { mainOnly?: boolean } = {}): Manifest[] {
  return files
    .filter((f) => f.path.endsWith('.yaml') && (!options.mainOnly || !f.path.includes('/')))
    .flatMap((f) => (f.objects ? structuredClone(f.objects) : YAML.parseAllDocuments(f.content).map((d) => d.toJS() as Manifest)))
    .filter((o) => o);
}

export function render(config: Config): { files: RenderedFile[]; objects: Manifest[] } {
  const files = renderPlatform(config);
  return { files, objects: objectsOf(files) };
}

/** Objects of one rendered file (by chart id, e.g. `mlflow`). */
export function chartObjects(files: readonly RenderedFile[], chartId: string): Manifest[] {
  const file = files.find((f) => new RegExp(`^(\\d{4}-)?${chartId}\\.yaml$`).test(f.path));
  if (!file) throw new Error(`no rendered file for chart ${chartId}; files: ${files.map((f) => f.path).join(', ')}`);
  return objectsOf([file]);
}

export function find(objects: readonly Manifest[], kind: string, name: string): Manifest {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name}; have: ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);
  return found;
}
