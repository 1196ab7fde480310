/** The command line of `npm run bench:server` (bench/server.ts). */

const USAGE = 'usage: npm run bench:server [-- --config FILE] [--seconds N] [--concurrency N] [--runs N] [--repeat N] [--workers 1,2,4] [--write] [--verbose]';

export interface Options {
  readonly configFile?: string;
  readonly seconds: number;
  readonly concurrency: number;
  readonly runs: number;
  /** Rounds of every workload over the same servers; the report gives each figure's median. */
  readonly repeat: number;
  readonly workers?: number[];
  readonly write: boolean;
  readonly verbose: boolean;
}

export function parseOptions(args: string[]): Options {
  const valued = ['--config', '--seconds', '--concurrency', '--runs', '--repeat', '--workers'];
  const flags = ['--write', '--verbose'];
  const values: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (flags.includes(a)) continue;
    if (!valued.includes(a)) throw new Error(`unknown option ${a}\n${USAGE}`);
    const value = args[++i];
    if (value === undefined || value.startsWith('--')) throw new Error(`${a} needs a value\n${USAGE}`);
    values[a] = value;
  }
  const positive = (name: string, fallback: number) => {
    const v = values[name] === undefined ? fallback : Number(values[name]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} ${values[name]}: must be a whole number of at least 1\n${USAGE}`);
    return v;
  };
  const workers = values['--workers']?.split(',').map((w) => {
    const n = Number(w);
    if (!Number.isInteger(n) || n < 1 || n > 16)
      throw new Error(`--workers ${values['--workers']}: a comma-separated list of worker counts from 1 to 16\n${USAGE}`);
    return n;
  });
  if (workers && args.includes('--write'))
    throw new Error(`--write records the comparison of the configurations only; the worker sweep prints its figures\n${USAGE}`);
  return {
    configFile: values['--config'],
    seconds: positive('--seconds', 5),
    concurrency: positive('--concurrency', 8),
    runs: positive('--runs', 2000),
    repeat: positive('--repeat', 1),
    workers,
    write: args.includes('--write'),
    verbose: args.includes('--verbose'),
  };
}
