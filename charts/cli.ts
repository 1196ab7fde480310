/**
 * The synth command: `npm run synth [-- --config FILE] [--out DIR]`, or MLFLOW_GKE_CONFIG=FILE.
 * Prints one line per problem and exits non-zero on bad input, leaving `dist/` as it was.
 */
import { ConfigError, EMBEDDED_DEFAULT, loadConfig } from '../config/load';
import { renderPlatform, writeDist } from './render';

export interface SynthOptions {
  readonly config?: string;
  readonly out: string;
}

export function parseSynthArgs(argv: readonly string[], env: NodeJS.ProcessEnv): SynthOptions {
  let config = env.MLFLOW_GKE_CONFIG || undefined;
  let out = 'dist';
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
    else throw new ConfigError([`synth: unknown argument "${arg}"; allowed: --config FILE, --out DIR`]);
  }
  return { config, out };
}

export function runSynth(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): number {
  let out = 'dist';
  try {
    const options = parseSynthArgs(argv, env);
    out = options.out;
    const files = renderPlatform(loadConfig(options.config));
    writeDist(files, out);
    console.log(`rendered ${files.length} files from ${options.config ?? EMBEDDED_DEFAULT} into ${out}/`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const line of error.problems) console.error(line);
      console.error(`synth failed: ${error.problems.length} problem(s); ${out}/ left unchanged`);
      return 1;
    }
    // A chart refusing an unsafe combination throws a plain Error with a precise message.
    console.error(`synth failed: ${(error as Error).message}; ${out}/ left unchanged`);
    return 1;
  }
}
