/**
 * The synth command: `npm run synth [-- --config FILE] [--out DIR]`, or MLFLOW_GKE_CONFIG=FILE.
 * Prints one line per problem and exits non-zero on bad input or a refused or failed write, leaving
 * the output folder as it was. Relative paths are taken from the folder the command ran in (npm runs
 * scripts in the package root and passes that folder as INIT_CWD).
 */
import * as path from 'path';
import { ConfigError, EMBEDDED_DEFAULT, loadConfig } from '../model/load';
import type { Config } from '../config/schema';
import { renderPlatform } from './render';
import type { RenderedFile } from './rendered-file';
import { nextSteps } from './runbook/next-steps';
import { displayDir, OutputError, writeOutput, WriteOutputOptions } from './output';

export interface SynthOptions {
  /** Config file as given; undefined for the embedded default. */
  readonly config?: string;
  /** Output folder as given. */
  readonly out: string;
  /** Print usage and stop. */
  readonly help?: boolean;
  /** Print only the summary line, not the next steps. */
  readonly quiet?: boolean;
}

export const USAGE = [
  'usage: npm run synth -- [--config FILE] [--out DIR]',
  '',
  '  -c, --config FILE  YAML config to render (default: $MLFLOW_GKE_CONFIG, else the embedded default)',
  '  -o, --out DIR      output folder (default: dist); replaced only when it is empty or holds an earlier render',
  '  -q, --quiet        print the summary line only, not the next steps',
  '  -h, --help         print this help',
  '',
  'Relative paths are taken from the folder the command runs in.',
].join('\n');

export function parseSynthArgs(argv: readonly string[], env: NodeJS.ProcessEnv): SynthOptions {
  let config = env.MLFLOW_GKE_CONFIG || undefined;
  let out = 'dist';
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new ConfigError([`synth: ${flag} needs a value`]);
      return v;
    };
    if (flag === '--config' || flag === '-c') config = value();
    else if (flag === '--out' || flag === '-o') out = value();
    else if (flag === '--quiet' || flag === '-q') quiet = true;
    else if (flag === '--help' || flag === '-h') return { config, out, help: true };
    else throw new ConfigError([`synth: unknown argument "${arg}"; allowed: --config FILE, --out DIR, --quiet, --help`]);
  }
  return quiet ? { config, out, quiet } : { config, out };
}

/** Where the user ran the command: npm's INIT_CWD under `npm run`, else the process's folder. */
function invocationDir(env: NodeJS.ProcessEnv): string {
  return env.INIT_CWD || process.cwd();
}

export function runSynth(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, output: WriteOutputOptions = {}): number {
  let out = 'dist';
  try {
    const options = parseSynthArgs(argv, env);
    out = options.out;
    if (options.help) {
      console.log(USAGE);
      return 0;
    }
    const base = invocationDir(env);
    const config = options.config === undefined ? undefined : path.resolve(base, options.config);
    const label = options.config ?? EMBEDDED_DEFAULT;
    const loaded = loadConfig(config, options.config);
    const files = renderOf(loaded, label);
    const warning = writeOutput(files, path.resolve(base, out), { ...output, label: out });
    console.log(`rendered ${files.length} files from ${label} into ${displayDir(out)}`);
    if (warning) console.error(`warning: ${warning}`);
    if (!options.quiet) for (const line of nextSteps(files, displayDir(out))) console.log(line);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const line of error.problems) console.error(line);
      console.error(`synth failed: ${error.problems.length} problem(s); ${displayDir(out)} left unchanged`);
      return 1;
    }
    if (error instanceof OutputError) {
      console.error(`synth failed: ${error.message}`);
      return 1;
    }
    console.error(`synth failed: ${(error as Error).message}; ${displayDir(out)} left unchanged`);
    return 1;
  }
}

/** The render of a valid config; what the charts refuse is reported, like config problems, under the config's name. */
function renderOf(config: Config, label: string): RenderedFile[] {
  try {
    return renderPlatform(config);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(error.problems.map((p) => `${label}: ${p}`));
    // A chart refusing an unsafe combination throws a plain Error with a precise message.
    throw new ConfigError([`${label}: ${(error as Error).message}`]);
  }
}
